"""Which app version and platform a simulated device starts on, and when it updates.

Pure: the shares come from the scenario (its `population` and `platforms`), versions are
compared with `packaging.version`, randomness comes from the caller's seeded `Random`.
"""
from random import Random

from packaging.version import Version


def _weighted(rng: Random, choices) -> str:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


def choose_baseline_version(rng: Random, population) -> str:
    """A starting version from the scenario's ((version, share), ...)."""
    return _weighted(rng, population)


def choose_platform(rng: Random, platforms) -> str:
    """A platform from the scenario's ((platform, share), ...)."""
    return _weighted(rng, platforms)


def should_update(current: str, latest: str, min_supported: str | None, adoption: float,
                  rng: Random) -> bool:
    """Whether the app installs `latest` on this app open.

    Below `min_supported` the app must update; otherwise a newer release is installed
    with probability `adoption` per app open (a staged rollout seen from the phone).
    Draws from `rng` only when the choice is actually random, so the draw sequence
    does not depend on releases the device is not offered.
    """
    if Version(latest) <= Version(current):
        return False
    if min_supported and Version(current) < Version(min_supported):
        return True
    return rng.random() < adoption
