"""Which app version and platform a simulated device starts on, and when it updates.

Pure: versions are compared with `packaging.version`, randomness comes from the
caller's seeded `Random`.
"""
from random import Random

from packaging.version import Version

# Before the incident everyone is on 4.0.x / 4.1.x, mostly the current 4.1.3.
BASELINE_VERSIONS = (("4.1.3", 0.70), ("4.1.2", 0.22), ("4.0.2", 0.08))
PLATFORMS = (("ios", 0.55), ("android", 0.45))
DEFAULT_ADOPTION = 0.35


def _weighted(rng: Random, choices) -> str:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


def choose_baseline_version(rng: Random) -> str:
    return _weighted(rng, BASELINE_VERSIONS)


def choose_platform(rng: Random) -> str:
    return _weighted(rng, PLATFORMS)


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
