"""App releases: the versions the bank has shipped, which the app asks about on open."""
import hashlib
from datetime import timedelta

from packaging.version import Version
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..database.engines import is_postgres
from ..models import Release
from .errors import Conflict, Invalid, NotFound

PLATFORMS = ("ios", "android", "web")  # what a device runs on (X-Platform)
TARGETS = ("ios", "android", "all")  # what a release is published for

# (version, days before today) shipped on both platforms; 4.1.3 is current at start.
HISTORY = [("4.0.0", 180), ("4.0.1", 165), ("4.0.2", 150), ("4.1.0", 120), ("4.1.1", 90),
           ("4.1.2", 60), ("4.1.3", 21)]
MIN_SUPPORTED = "4.0.0"
PUBLISH_LOCK = 0x72656c65617365  # advisory lock id taken by every publish ("release")
MAX_VERSION = Release.version.type.length  # 40, and min_supported_version's too


def as_version(value: str | None) -> Version | None:
    """The one place a version string is parsed: None for no version or one that is not
    PEP 440. `packaging` raises InvalidVersion, and plain ValueError for a number of more
    than 4,300 digits (Python's int conversion limit), so both mean "not a version"."""
    try:
        return Version(value) if value else None
    except ValueError:  # InvalidVersion is a ValueError
        return None


def parse_version(value: str, field: str) -> str:
    """`value` in its normal form, as stored. Normalising can lengthen a version
    (`1c-r-dev` is `1rc0.post0.dev0`), so the length limit applies to the normal form."""
    version = as_version(value)
    if version is None:
        raise Invalid(f"{field}: not a PEP 440 version", field)
    normal = str(version)
    if len(normal) > MAX_VERSION:
        raise Invalid(f"{field}: {normal} is longer than {MAX_VERSION} characters", field)
    return normal


def seed_history(session: Session) -> None:
    """Give a new database a realistic 4.x release history (once)."""
    if session.scalar(select(func.count()).select_from(Release)):
        return
    today = utcnow().replace(hour=9, minute=0, second=0, microsecond=0)
    for version, days_ago in HISTORY:
        session.add(Release(version=version, platform="all", notes=f"Release {version}",
                            released_at=today - timedelta(days=days_ago),
                            min_supported_version=MIN_SUPPORTED))


def latest(connection: Connection, platform: str, device_id: str | None = None,
           app_version: str | None = None, seed: int = 42) -> Row:
    """The newest release for `platform` (or for every platform) offered to this device,
    as a plain row (every phone asks this on every open: one prebuilt Core statement,
    no ORM objects, no transaction around it: `db.reading()`).

    A staged release is offered to the devices its rollout includes (`in_rollout`); a
    halted one to nobody new. A device already running a release is always answered it,
    so lowering or halting a rollout never tells an updated app that it is ahead.
    """
    if platform not in PLATFORMS:
        raise Invalid(f"platform: must be {', '.join(PLATFORMS[:-1])} or {PLATFORMS[-1]}",
                      "platform")
    running = as_version(app_version)

    def offered(r: Row) -> bool:
        return ((running is not None and Version(r.version) == running)
                or (not r.halted and in_rollout(seed, r.version, device_id, r.rollout_percent)))
    rows = connection.execute(LATEST_QUERY, {"platform": platform})
    release = next(filter(offered, rows), None)
    if release is None:
        raise NotFound(f"no release for {platform}", "platform")
    return release


def in_rollout(seed: int, version: str, device_id: str | None, percent: float) -> bool:
    """Whether a staged rollout at `percent` includes the device. The device's bucket
    (0..9999) is fixed per seed and version, so raising the percent keeps every device
    already included; no device id means only a full rollout."""
    if percent >= 100:
        return True
    if not device_id:
        return False
    text = "\x1f".join((str(seed), version, device_id))
    bucket = int.from_bytes(hashlib.blake2b(text.encode(errors="surrogatepass"),
                                            digest_size=8).digest(), "big") % 10_000
    return bucket < round(percent * 100)


def _for_platform(platform: str):
    return (select(Release).where(Release.platform.in_([platform, "all"]))
            .order_by(Release.released_at.desc(), Release.id.desc()))


_RELEASES = Release.__table__
LATEST_QUERY = (select(_RELEASES).where(_RELEASES.c.platform.in_([bindparam("platform"), "all"]))
                .order_by(_RELEASES.c.released_at.desc(), _RELEASES.c.id.desc()))


def _newest(session: Session, platform: str) -> Release | None:
    return session.scalar(_for_platform(platform).limit(1))


def publish(session: Session, version: str, platform: str, notes: str,
            min_supported_version: str | None = None,
            rollout_percent: float = 100.0) -> Release:
    """A new release row. A version already published for an overlapping platform (the same
    one, or "all" on either side) is refused (`release_exists`): the app would be offered
    one version with two histories, and a rollout change could not tell them apart.
    Versions compare as PEP 440 does (`9.0` is `9.0.0`), as the app compares them."""
    version = parse_version(version, "version")
    if is_postgres(session):  # two publishes of one version must not both miss the check
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PUBLISH_LOCK})
    published = select(Release.version)
    if platform != "all":  # "all" overlaps every row
        published = published.where(Release.platform.in_([platform, "all"]))
    wanted = Version(version)
    if any(as_version(other) == wanted for other in session.scalars(published)):
        raise Conflict(f"{version} is already published for {platform}", "version",
                       code="release_exists")
    previous = _newest(session, "ios" if platform == "all" else platform)
    minimum = (parse_version(min_supported_version, "min_supported_version")
               if min_supported_version else
               previous.min_supported_version if previous else MIN_SUPPORTED)
    release = Release(version=version, platform=platform, notes=notes,
                      min_supported_version=minimum, released_at=utcnow(),
                      rollout_percent=rollout_percent, halted=False)
    session.add(release)
    return release


def change_rollout(session: Session, version: str, platform: str | None = None,
                   rollout_percent: float | None = None,
                   halted: bool | None = None) -> list[Release]:
    """Raise, lower, halt or resume the staged rollout of `version`: on every platform it
    was published for, or only on `platform` (a release published for "all" is then
    split into one row per platform, so the others keep their state).

    `halted` applies first; a percent change to a release that stays halted is refused
    (`rollout_halted`), and nothing is written."""
    version = parse_version(version, "version")
    rows = list(session.scalars(select(Release).where(Release.version == version)
                                .order_by(Release.id)))
    if platform:
        rows = [r for r in rows if r.platform in (platform, "all")]
    if not rows:
        raise NotFound(f"no release {version}" + (f" for {platform}" if platform else ""),
                       "version")
    if rollout_percent is not None and any(r.halted if halted is None else halted
                                           for r in rows):
        raise Conflict(f"the rollout of {version} is halted; resume it first "
                       "(halted: false)", "rollout_percent", code="rollout_halted")
    if platform:
        rows = [_split(session, r, platform) if r.platform == "all" else r for r in rows]
    for release in rows:
        if halted is not None:
            release.halted = halted
        if rollout_percent is not None:
            release.rollout_percent = rollout_percent
    return sorted(rows, key=lambda r: (PLATFORMS + ("all",)).index(r.platform))


def _split(session: Session, release: Release, platform: str) -> Release:
    """Turn a release for "all" into one row per platform; the one for `platform`."""
    for other in PLATFORMS:
        if other != platform:
            session.add(Release(version=release.version, platform=other, notes=release.notes,
                                released_at=release.released_at,
                                min_supported_version=release.min_supported_version,
                                rollout_percent=release.rollout_percent,
                                halted=release.halted))
    release.platform = platform
    return release
