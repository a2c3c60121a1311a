"""Time helpers: the bank stores naive UTC datetimes and speaks RFC 3339."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def naive_utc(moment: datetime) -> datetime:
    """Client datetimes may carry a zone; the bank stores naive UTC."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
