"""The `match` block of a rule, compiled once when rules are loaded.

Matching runs for every rule on every request, so everything that can be
prepared is prepared here: the specifier set is parsed once, the path glob is
compiled to a regex, lists become sets, and the verdict for each app version
string seen is remembered (a fleet sends only a handful of distinct versions).

Path globs follow `fnmatch`: `*` also crosses `/`, so `/accounts/*` matches
`/accounts/acc_1/balance` too. An app version that is missing or not PEP 440 (an
over-long one included: `packaging` raises a plain ValueError past Python's 4,300-digit
int conversion limit) matches only rules that do not name `app_version`. Cohorts are not decided
here: that needs the seed, and lives in the decider.

`devices` are X-Device-Id values; `headers` pairs a header name (compared without regard to
case, as HTTP does) with a value it must equal exactly. Which header names a rule may
name is the host's allow-list (checked when the rule is saved, see rules.py); the request
brings only those headers (`RequestInfo.headers`, lower-cased names).
"""
import fnmatch
import re

from packaging.specifiers import SpecifierSet
from packaging.version import Version

_MEMO_LIMIT = 512


class Matcher:
    def __init__(self, match: dict):
        spec = match.get("app_version")
        self.specifier = SpecifierSet(spec) if spec else None
        self.platforms = _lowered(match.get("platform"))
        self.methods = frozenset(match["methods"]) if match.get("methods") else None
        self.users = frozenset(match["users"]) if match.get("users") else None
        self.devices = frozenset(match["devices"]) if match.get("devices") else None
        self.headers = tuple((name.lower(), value)
                             for name, value in (match.get("headers") or {}).items())
        glob = match.get("path")
        self.path = re.compile(fnmatch.translate(glob)).match if glob else None
        self.cohort_percent = float(match.get("cohort_percent", 100))
        self.cohort = match.get("cohort")  # a shared cohort name; None: the rule's own
        self.events = frozenset(match["events"]) if match.get("events") else None
        self._versions: dict[str | None, bool] = {}

    def matches(self, method: str, path: str, app_version: str | None, platform: str | None,
                user_id: str | None, device_id: str | None = None,
                headers: dict[str, str] | None = None) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        if self.platforms is not None and (platform or "").lower() not in self.platforms:
            return False
        if self.path is not None and not self.path(path):
            return False
        if self.users is not None and user_id not in self.users:
            return False
        if self.devices is not None and device_id not in self.devices:
            return False
        if self.headers and not all((headers or {}).get(name) == value
                                    for name, value in self.headers):
            return False
        return self.specifier is None or self.version_matches(app_version)

    def matches_delivery(self, event_type: str, user_id: str | None) -> bool:
        """A delivery fault's match: the event's type and the customer it belongs to."""
        return ((self.events is None or event_type in self.events)
                and (self.users is None or user_id in self.users))

    def admits(self, method: str, path: str) -> bool:
        """The part of `matches` that depends on the route alone (cacheable per route)."""
        return ((self.methods is None or method in self.methods)
                and (self.path is None or self.path(path) is not None))

    def version_matches(self, app_version: str | None) -> bool:
        known = self._versions.get(app_version)
        if known is None:
            known = self._check_version(app_version)
            if len(self._versions) >= _MEMO_LIMIT:
                self._versions.clear()
            self._versions[app_version] = known
        return known

    def _check_version(self, app_version: str | None) -> bool:
        try:
            return self.specifier.contains(Version(app_version or ""))
        except ValueError:  # InvalidVersion, or a number past the int conversion limit
            return False


def _lowered(values) -> frozenset | None:
    return frozenset(v.lower() for v in values) if values else None
