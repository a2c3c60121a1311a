"""A run directory's report, built from the files the run wrote there.

`banksim incident` writes its raw files into the report directory as it goes: run.json
(the seed and the command line's thresholds), scenario.yaml (the scenario as run),
journeys.jsonl, and Locust's phases.json and steps.json when it stops (and with
`--prometheus` alerts.json, what the alert rules did, and prometheus.log). The report is built
from them at the end of a run (`build`, with the audit), from whatever is there when a
signal stops a run (`build` with `stopped_by`: a partial report, which never passes), and
again at any later time by `banksim report DIR` (`rebuild`).
"""
import json
from pathlib import Path

from loadtests.report import build_report
from loadtests.report import dynamics
from loadtests.report.events import coerce_events, read_jsonl
from loadtests.scenario import Scenario, ScenarioError, load
from loadtests.scenario.timeline import rules_as_run

# Every file of a run directory, by what it holds: the one place their names are written.
FILES = {"run": "run.json", "scenario": "scenario.yaml", "journeys": "journeys.jsonl",
         "transfers": "transfers.jsonl", "phases": "phases.json", "steps": "steps.json",
         "chaos": "chaos-rules.json", "sessions": "sessions.json", "report": "report.json",
         "csv": "locust", "html": "locust.html",  # csv: the prefix of Locust's CSV files
         "alerts": "alerts.json", "prometheus_log": "prometheus.log",
         "webhooks": "webhooks.json", "webhook_events": "webhook-events.jsonl",
         "load": "load.json", "server_log": "server.log"}


def run_files(out: Path) -> dict[str, Path]:
    """The paths of a run directory's files (FILES), by what they hold."""
    return {name: out / file for name, file in FILES.items()}
NOT_AUDITED = "the run ended before its ledger was audited"


class RunDirError(ValueError):
    """A directory that is not a run's report directory, or a raw file that cannot be read."""


def write_run_json(out: Path, seed: int, thresholds: list[str],
                   allow_failed_steps: bool = False, prometheus: bool = False) -> None:
    """How the run was started, for `rebuild`: what scenario.yaml does not say."""
    started = {"seed": seed, "thresholds": thresholds, "allow_failed_steps": allow_failed_steps,
               "prometheus": prometheus}
    (out / FILES["run"]).write_text(json.dumps(started, indent=2) + "\n", encoding="utf-8")


def reach_thresholds(version: str | None) -> list[str]:
    """Thresholds every run must meet: it measured journeys, and some ran the version the
    incident published, during the incident (a run that never got there shows nothing)."""
    return ["journeys>=1",
            *([f"journeys[app_version={version},phase=incident]>=1"] if version else [])]


def build(out: Path, integrity: dict, server: dict, stopped_by: str | None = None,
          partial: bool = False, started: dict | None = None) -> dict:
    """The report of the run in `out`. A `partial` one (a signal, named by `stopped_by`,
    ended the run early) lasted what was measured, not what was planned. `started` stands
    in for run.json. RunDirError (a ValueError) when a raw file is not as a run writes it."""
    try:
        return _build(out, integrity, server, stopped_by, partial or stopped_by is not None,
                      started)
    except (TypeError, KeyError, AttributeError) as exc:  # JSON of another shape
        raise RunDirError(f"{out}: a raw file is not as a run writes it ({exc!r})") from None


def _build(out: Path, integrity: dict, server: dict, stopped_by: str | None, partial: bool,
           started: dict | None) -> dict:
    sc = scenario_of(out)
    started = _read_json(out / FILES["run"], started or {})
    phases = _read_json(out / FILES["phases"], [])
    steps = _read_json(out / FILES["steps"], {"steps": [], "halted_at_s": None})
    events = read_jsonl(out / FILES["journeys"])
    duration = int(sc.duration_s)
    aborted_by = steps.get("aborted_by")  # a guardrail or the preflight stopped the load
    if partial or aborted_by:
        duration = max([0.0, *(p["end_s"] for p in phases), *(e["t_s"] for e in events)])
    version = next(iter(sc.incident_versions()), None)
    meta = {"scenario": sc.name, "seed": started.get("seed"), "users": sc.users,
            "duration_s": duration, "client_policy": sc.client_policy,
            "scenario_definition": sc.definition, "timeline_steps": steps["steps"],
            "halted_at_s": steps["halted_at_s"], "incident_versions": sc.incident_versions(),
            "stopped_by": stopped_by, "partial": partial,
            "chaos_rules": rules_as_run(steps.get("chaos_rules") or [],
                                        _read_json(out / FILES["chaos"], {}).get("rules") or []),
            "allow_failed_steps": bool(started.get("allow_failed_steps")),
            "alerts": _read_json(out / FILES["alerts"], None),
            "guardrails": steps.get("guardrails") or [], "preflight": steps.get("preflight"),
            "aborted_by": aborted_by}
    reach = [] if aborted_by else reach_thresholds(version)  # it stopped early, and says why
    thresholds = list(dict.fromkeys(  # each once: a rebuild may list them all in `started`
        [*sc.thresholds, *started.get("thresholds", []), *reach]))
    report = build_report(events, phases, meta, integrity, thresholds, slo=sc.slo,
                          p95_ms=sc.p95_ms)
    report["server"] = server
    if started.get("prometheus") and meta["alerts"] is None and not partial:
        # asked for and never read: the alerts were not graded, and a pass would say they were
        report["alerts_error"] = (f"Prometheus did not say which alerts fired (it stopped or "
                                  f"did not answer; see {FILES['prometheus_log']})")
    webhooks = _read_json(out / FILES["webhooks"], None)
    if webhooks is not None:
        report["webhooks"] = webhooks
    _add_dynamics(report, sc, coerce_events(events), _read_json(out / FILES["load"], None))
    return report


def _add_dynamics(report: dict, sc: Scenario, events: list, load: dict | None) -> None:
    """The load model, goodput, the client policy as run and the metastable window
    (`loadtests.report.dynamics`)."""
    duration = report["duration_s"]
    report["load"] = dynamics.load_block(load, events, report["timeline_bucket_s"], duration,
                                         sc.load_model, sc.rate)
    report["goodput"] = dynamics.goodput_rows(events, report["phases"])
    report["client"] = dynamics.client_block(sc.client)
    report["policy"].update(dynamics.policy_counts(events))
    ended = dynamics.trigger_end(report["phases"])
    report["incident"]["trigger_ended_at_s"] = ended
    report["incident"]["metastable_s"] = dynamics.metastable_s(
        events, report["load"], ended, sc.slo, duration)


def rebuild(out: Path) -> dict:
    """The report of the run in `out` again, from its raw files: the audit, the bank's side
    of the load and whether it was stopped come from its report.json; a run that never
    wrote one (killed outright) did not end, and its ledger was not audited. Without
    run.json, the seed and thresholds are the previous report's."""
    previous = _read_json(out / FILES["report"], None)
    if previous is None:
        return build(out, {"ok": False, "checked": False, "reason": NOT_AUDITED}, {},
                     partial=True)
    if not isinstance(previous, dict):
        raise RunDirError(f"{out / FILES['report']}: not a report")
    started = {"seed": previous.get("seed"),
               "allow_failed_steps": previous.get("allow_failed_steps"),
               "thresholds": [t.get("name") for t in previous.get("thresholds") or ()
                              if isinstance(t, dict) and isinstance(t.get("name"), str)]}
    partial = bool(previous.get("partial"))
    if not partial:  # a run that ended wrote every raw file: one gone is a changed directory
        for name in ("phases", "steps", "journeys"):
            if not (out / FILES[name]).exists():
                raise RunDirError(f"{out / FILES[name]} is missing, though the run ended and "
                                  "wrote it: the report cannot be built again without it")
    report = build(out, previous.get("integrity") or {}, previous.get("server") or {},
                   stopped_by=previous.get("stopped_by"), partial=partial, started=started)
    counted, read = _journeys(previous), _journeys(report)
    if read < counted:
        raise RunDirError(f"{out / FILES['journeys']} holds {read} journeys where the run's "
                          f"report counted {counted}: the raw files were changed since")
    return report


def _journeys(report: dict) -> int:
    return sum(row.get("attempts", 0) for row in report.get("journeys") or ()
               if isinstance(row, dict))


def scenario_of(out: Path) -> Scenario:
    path = out / FILES["scenario"]
    if not path.is_file():
        raise RunDirError(f"{out} is not a run's report directory: it has no {path.name}")
    try:
        return load(str(path))
    except ScenarioError as exc:
        raise RunDirError("\n".join([exc.source, *exc.problems])) from None


def _read_json(path: Path, default):
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise RunDirError(f"{path}: not JSON ({exc})") from None
