"""Wall-clock time as epoch seconds and RFC 3339 text.

Rules carry their creation time as epoch seconds so that every process computes
the same burst windows and expiry from the same number.
"""
import time
from datetime import UTC, datetime


def now() -> float:
    return time.time()


def rfc3339(epoch_s: float) -> str:
    """`2026-11-23T09:30:00Z` (whole seconds, UTC), the format the API uses everywhere."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
