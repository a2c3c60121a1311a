"""A scenario file, read, completed, overridden and validated (docs/scenarios.md).

`load("bad-release")` or `load("path/to/mine.yaml", {"users": 20})` returns a `Scenario`,
or raises `ScenarioError` listing every problem; nothing is started before that. Keys a
file leaves out take the built-in `bad-release`'s values (its file is the one source of
the default story), then the command line's overrides apply, then the whole is validated,
so an `at` past an overridden duration is refused too.
"""
import copy
import difflib
from dataclasses import dataclass
from pathlib import Path

import yaml

from scenarios import builtin_files

from loadtests.scenario import safe_yaml
from loadtests.scenario.schema import at_seconds, parse_duration, parse_think, problems
from loadtests.scenario.stop_schema import injects

DEFAULT = "bad-release"
NONE = "none"                    # plain `locust` runs: one baseline phase, no admin calls
DEFAULT_ADOPTION = 0.35          # a release's `adoption` when the file gives none
NOT_DEFAULTED = ("name", "description", "timeline")
MAX_PROBLEMS = 50       # lines shown; a file can hold thousands of problems
MAX_PROBLEM_CHARS = 300  # a line quotes what it refuses: a value may be a megabyte long


class ScenarioError(ValueError):
    """A scenario that cannot run; `problems` holds one line per problem (the first
    MAX_PROBLEMS, then a line counting the rest), each at most MAX_PROBLEM_CHARS long."""

    def __init__(self, source: str, problems: list[str]):
        shown = [_shorten(line) for line in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more problems "
                         f"(the first {MAX_PROBLEMS} are shown)")
        super().__init__(f"{source}:\n" + "\n".join(f"  {line}" for line in shown))
        self.source, self.problems = source, shown


def _shorten(line: str) -> str:
    return line if len(line) <= MAX_PROBLEM_CHARS else line[:MAX_PROBLEM_CHARS - 1] + "…"


@dataclass(frozen=True)
class TimelineStep:
    """One step of the timeline with its time resolved to seconds into the run."""

    index: int
    at_s: float
    phase: str | None = None
    release: dict | None = None
    rollout: dict | None = None
    chaos: dict | None = None
    load: dict | None = None


@dataclass(frozen=True)
class Scenario:
    """A valid scenario; `definition` is the whole of it as run (defaults and overrides in)."""

    definition: dict

    def __getitem__(self, key):
        return self.definition.get(key)

    @property
    def name(self) -> str:
        return self.definition["name"]

    @property
    def description(self) -> str:
        return self.definition.get("description", "")

    @property
    def duration_s(self) -> float:
        return parse_duration(self.definition["duration"])

    @property
    def users(self) -> int:
        return self.definition["users"]

    @property
    def think_s(self) -> tuple[float, float]:
        return parse_think(self.definition["think"])

    @property
    def arrival_s(self) -> float:
        """Seconds over which the phones first open the app, evenly spread (0: all at once)."""
        return at_seconds(self.definition["arrivals"]["over"], self.duration_s)

    @property
    def signed_in(self) -> float:
        """The share of phones that open the app with a saved session (a refresh token);
        the others sign in with their password."""
        return self.definition["arrivals"]["signed_in"]

    @property
    def slo(self) -> float:
        return self.definition["slo"]["success"]

    @property
    def p95_ms(self) -> float | None:
        return self.definition["slo"].get("p95_ms")

    @property
    def client(self):
        """The app's client policy as written: a built-in's name or a mapping."""
        return self.definition.get("client", self.definition.get("client_policy"))

    @property
    def client_policy(self) -> str:
        """The client policy's name (a mapping's `name`, else `custom`)."""
        client = self.client
        return client if isinstance(client, str) else str(client.get("name", "custom"))

    @property
    def load_model(self) -> str:
        return (self.definition.get("load") or {}).get("model", "closed")

    @property
    def rate(self) -> float | None:
        """The open model's starting rate, journeys a second (None: closed model)."""
        return (self.definition.get("load") or {}).get("rate")

    @property
    def phones(self) -> int:
        """Phones Locust runs: the users, or the open model's max_phones."""
        return (self.definition.get("load") or {}).get("max_phones", self.users)

    def rates(self, duration_s: float | None = None) -> list[tuple[float, float]]:
        """The open model's (from_s, rate) changes: the starting rate, then each step's."""
        changes = [(0.0, float(self.rate or 0))]
        changes += [(step.at_s, float(step.load["rate"])) for step in self.steps(duration_s)
                    if step.load]
        return changes

    @property
    def bank(self) -> dict:
        """The bank's capacity as the scenario sets it: workers, threads, service_ms."""
        return dict(self.definition.get("bank") or {})

    @property
    def platforms(self) -> tuple[tuple[str, float], ...]:
        return tuple(self.definition["platforms"].items())

    def wifi_share(self, platform: str) -> float:
        """The share of this platform's phones on Wi-Fi (X-Network: wifi); the rest are
        on cellular."""
        return float((self.definition.get("wifi") or {}).get(platform, 0.0))

    @property
    def population(self) -> tuple[tuple[str, float], ...]:
        return tuple((str(row["version"]), row["share"]) for row in self.definition["population"])

    @property
    def thresholds(self) -> list[str]:
        return list(self.definition.get("thresholds") or ())

    @property
    def halt_on_alert(self) -> bool:
        return bool(self.definition.get("halt_on_alert"))

    @property
    def guardrails(self) -> list[dict]:
        """The stop conditions as run: `halt_on_alert: true` is the first, written out."""
        rows = [{"when": str(g["when"]).strip(), "then": g["then"]}
                for g in self.definition.get("guardrails") or ()]
        halt = {"when": "alert", "then": "halt_rollout"}
        return [halt, *rows] if self.halt_on_alert and halt not in rows else rows

    def first_chaos_s(self, duration_s: float | None = None) -> float | None:
        """When the first step that can start faults runs (None: the timeline has none)."""
        return next((s.at_s for s in self.steps(duration_s) if injects(s.chaos)), None)

    @property
    def preflight(self) -> bool:
        """Check the baseline before the first fault: as written, else whenever a chaos
        step comes after some baseline to check."""
        if "preflight" in self.definition:
            return bool(self.definition["preflight"])
        return (self.first_chaos_s() or 0) > 0

    @property
    def webhooks(self) -> bool:
        return bool(self.definition.get("webhooks"))

    def steps(self, duration_s: float | None = None) -> list[TimelineStep]:
        duration_s = self.duration_s if duration_s is None else duration_s
        return [TimelineStep(i, at_seconds(step["at"], duration_s), step.get("phase"),
                             step.get("release"), step.get("rollout"), step.get("chaos"),
                             step.get("load"))
                for i, step in enumerate(self.definition["timeline"])]

    def releases(self) -> list[dict]:
        """Every release the scenario publishes: before the run, then by the timeline."""
        return [*(self.definition.get("releases") or ()),
                *(s["release"] for s in self.definition["timeline"] if s.get("release"))]

    def adoption_of(self, version: str) -> float:
        """The chance per app open that an app offered `version` installs it."""
        for release in reversed(self.releases()):
            if str(release["version"]) == version:
                return release.get("adoption", DEFAULT_ADOPTION)
        return DEFAULT_ADOPTION

    def incident_step(self) -> TimelineStep | None:
        return next((s for s in self.steps() if s.phase == "incident"), None)

    def incident_versions(self) -> list[str]:
        """The version published by the step that starts `incident` (none: [])."""
        step = self.incident_step()
        return [str(step.release["version"])] if step and step.release else []


def builtin_names() -> list[str]:
    return list(builtin_files())


def did_you_mean(name: str) -> str:
    """"; did you mean bad-release?" for a near miss of a built-in's name, else ""."""
    close = difflib.get_close_matches(name.strip().lower(), builtin_names(), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def read(source: str) -> tuple[dict, str]:
    """The raw mapping of a built-in name or a file path, and where it came from."""
    path = builtin_files().get(source)
    if path is None:
        path = Path(source)
        if not path.is_file():
            raise ScenarioError(source, [
                f"no such scenario: not a built-in ({', '.join(builtin_names())}) "
                f"and not a file{did_you_mean(source)}"])
    try:
        with open(path, "rb") as handle:  # a file past the bound is never read whole
            raw = handle.read(safe_yaml.MAX_BYTES + 1)
        data = safe_yaml.load(raw)
    except safe_yaml.TooBig as exc:
        raise ScenarioError(str(path), [f"refused: {exc}"]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), [f"not YAML: {exc}".replace("\n", " ")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), [f"cannot read it: {exc}"]) from None
    return data, str(path)


def with_defaults(data: dict) -> dict:
    """The file's keys over bad-release's (all but name, description and timeline)."""
    if not isinstance(data, dict):
        return data
    base, _ = read(DEFAULT)
    merged = {k: copy.deepcopy(v) for k, v in base.items() if k not in NOT_DEFAULTED}
    merged["description"] = ""
    merged.update(copy.deepcopy(data))
    if isinstance(data.get("arrivals"), dict):  # one key given: the other stays the default
        merged["arrivals"] = {**base["arrivals"], **data["arrivals"]}
    if "client" in data and "client_policy" not in data:  # the file's policy, not the default's
        merged.pop("client_policy", None)
    return merged


def with_overrides(data: dict, overrides: dict | None) -> dict:
    """Command-line values over the file's: users, duration (s), think ((min, max)), slo,
    client_policy, adoption (every release's), halt_on_alert, rollout (the first percent
    offered of every release the timeline publishes), client (a built-in policy's name:
    replaces `client` and `client_policy`), load_model and rate (the open model's; `rate`
    alone makes the model open). None means "not given"."""
    data = copy.deepcopy(data)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    for key in ("client", "client_policy"):
        if key in given:
            data.pop("client_policy", None)
            data["client"] = given.pop(key)
    _override_load(data, given.pop("load_model", None), given.pop("rate", None))
    simple = {"users": "users", "client_policy": "client_policy", "halt_on_alert": "halt_on_alert"}
    for key, target in simple.items():
        if key in given:
            data[target] = given[key]
    if "users" in given and isinstance(data.get("load"), dict) and "max_phones" in data["load"]:
        data["load"]["max_phones"] = given["users"]  # --users is the phones, as without it
    if "duration" in given:
        data["duration"] = f"{given['duration']:g}s"
    if "think" in given:
        low, high = given["think"]
        data["think"] = f"{low:g}-{high:g}"
    if "slo" in given:
        data["slo"] = {**(data.get("slo") or {}), "success": given["slo"]}
    if "adoption" in given:
        for release in _all_releases(data):
            release["adoption"] = given["adoption"]
    if "rollout" in given:
        for release in _timeline_releases(data):
            release["rollout"] = given["rollout"]
    return data


def _override_load(data: dict, model: str | None, rate: float | None) -> None:
    """--load-model / --rate over the file's `load` (a closed model drops the open one's keys;
    an open one without a rate anywhere, or a closed one with a step that changes the rate,
    is refused by the schema)."""
    if model is None and rate is None:
        return
    load = dict(data.get("load") or {}) if isinstance(data.get("load"), dict) else {}
    if rate is not None:
        load["model"], load["rate"] = "open", rate
    if model is not None:
        load["model"] = model
        if model == "closed":  # a step's rate change stays, and the schema refuses it:
            load = {"model": "closed"}  # a burst of arrivals may be the scenario's trigger
    data["load"] = load


def _timeline_releases(data: dict) -> list[dict]:
    steps = data.get("timeline") if isinstance(data.get("timeline"), list) else []
    found = [s.get("release") for s in steps if isinstance(s, dict)]
    return [r for r in found if isinstance(r, dict)]


def _all_releases(data: dict) -> list[dict]:
    found = [*(data.get("releases") or ()), *_timeline_releases(data)]
    return [r for r in found if isinstance(r, dict)]


def check(data, source: str, overrides: dict | None = None) -> Scenario:
    """Complete, override and validate a raw mapping; ScenarioError lists every problem."""
    full = with_overrides(with_defaults(data), overrides) if isinstance(data, dict) else data
    found = problems(full)
    if found:
        raise ScenarioError(source, found)
    return Scenario(full)


def load(source: str = DEFAULT, overrides: dict | None = None) -> Scenario:
    """A built-in by name, or a file by path; `none` is the baseline-only scenario."""
    if source == NONE:
        base, path = read(DEFAULT)
        return check({"name": NONE, "description": "no timeline: one baseline phase",
                      "releases": [], "timeline": []}, path, overrides)
    data, path = read(source)
    return check(data, path, overrides)


def to_yaml(scenario: Scenario) -> str:
    return yaml.safe_dump(scenario.definition, sort_keys=False, allow_unicode=True)
