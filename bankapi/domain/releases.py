"""App releases: the versions the bank has shipped, which the app asks about on open."""
from datetime import timedelta

from packaging.version import InvalidVersion, Version
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..models import Release
from .errors import Invalid, NotFound

PLATFORMS = ("ios", "android", "web")

# (version, days before today) shipped on both platforms; 4.1.3 is current at start.
HISTORY = [("4.0.0", 180), ("4.0.1", 165), ("4.0.2", 150), ("4.1.0", 120), ("4.1.1", 90),
           ("4.1.2", 60), ("4.1.3", 21)]
MIN_SUPPORTED = "4.0.0"


def parse_version(value: str, field: str) -> str:
    try:
        return str(Version(value))
    except InvalidVersion:
        raise Invalid(f"{field}: not a PEP 440 version", field) from None


def seed_history(session: Session) -> None:
    """Give a new database a realistic 4.x release history (once)."""
    if session.scalar(select(func.count()).select_from(Release)):
        return
    today = utcnow().replace(hour=9, minute=0, second=0, microsecond=0)
    for version, days_ago in HISTORY:
        session.add(Release(version=version, platform="all", notes=f"Release {version}",
                            released_at=today - timedelta(days=days_ago),
                            min_supported_version=MIN_SUPPORTED))


def latest(session: Session, platform: str) -> Release:
    """The newest release for `platform` (or for every platform)."""
    if platform not in PLATFORMS:
        raise Invalid(f"platform: must be {', '.join(PLATFORMS[:-1])} or {PLATFORMS[-1]}",
                      "platform")
    release = _newest(session, platform)
    if release is None:
        raise NotFound(f"no release for {platform}", "platform")
    return release


def _newest(session: Session, platform: str) -> Release | None:
    return session.scalar(select(Release).where(Release.platform.in_([platform, "all"]))
                          .order_by(Release.released_at.desc(), Release.id.desc()).limit(1))


def publish(session: Session, version: str, platform: str, notes: str,
            min_supported_version: str | None = None) -> Release:
    version = parse_version(version, "version")
    previous = _newest(session, "ios" if platform == "all" else platform)
    minimum = (parse_version(min_supported_version, "min_supported_version")
               if min_supported_version else
               previous.min_supported_version if previous else MIN_SUPPORTED)
    release = Release(version=version, platform=platform, notes=notes,
                      min_supported_version=minimum, released_at=utcnow())
    session.add(release)
    return release
