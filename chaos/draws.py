"""The seeded draws every rule decision uses: one hash, the sticky cohorts built on it.

A draw is a 64-bit hash of (seed, rule, user else device, ...), never Python's random, so
the same requests and deliveries are hit in every run with the same seed, in every process.
"""
import hashlib

_SEP = "\x1f"


def hash64(*parts) -> int:
    text = _SEP.join("" if p is None else str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def in_cohort(seed: int, rule_id: str, key: str | None, percent: float) -> bool:
    """Whether `key` (a user, else a device) is in the rule's sticky cohort."""
    if percent >= 100:
        return True
    if key is None:
        return False
    return hash64(seed, rule_id, key) % 10_000 < round(percent * 100)


def clip(value: str | None, size: int) -> str | None:
    """A client's string, cut to what an event keeps."""
    return value[:size] if value is not None else None
