"""The UX report of a load-test run (docs/reference.md): report.json, report.html, a summary.

Pure reporting: it reads journey events and the run's phases, never the bank, never
Locust. `build_report` makes the report dict, `write_report` writes its files,
`print_summary` prints it to a terminal.
"""
import json
from collections.abc import Iterable
from pathlib import Path

from .aggregate import (bad_versions, bucket_size_s, journey_rows, latency_rows,
                        platform_rows, policy_block, slo_checks, timeline_rows, users_affected,
                        users_slowed, version_rows)
from .alerts import alert_entries, alert_values
from .detector import Detection, DetectorSettings, detect
from .failures import failure_rows, network_rows
from .events import JourneyEvent, coerce_events, load_events, normalise_phases, phase_start
from .guardrails import guardrail_rows
from .headline import headline
from .summary import print_summary, verdict
from .thresholds import INCIDENT_METRICS, INTEGRITY_METRICS, evaluate, parse_threshold

__all__ = ["build_report", "write_report", "write_html", "write_main_chart_png",
           "print_summary", "verdict", "headline", "parse_threshold", "load_events",
           "JourneyEvent", "DetectorSettings"]


def build_report(events: Iterable[dict | JourneyEvent], phases: Iterable, meta: dict,
                 integrity: dict, thresholds: list[str], slo: float = 0.99,
                 detector: DetectorSettings | None = None, p95_ms: float | None = None) -> dict:
    """The whole report.json as a dict.

    `meta` gives scenario, seed, users, duration_s and client_policy, and from a scenario
    run scenario_definition, timeline_steps (what each step did), halted_at_s,
    incident_versions (published by the step that starts `incident`), chaos_rules (each
    rule the timeline created, with its counters), allow_failed_steps, the stop
    conditions: guardrails (as the run recorded them), preflight and aborted_by (the
    guardrail, or the preflight check, that stopped the load), and, from a run with
    Prometheus, alerts (alerts.json: `loadtests.report.alerts`); `integrity` is
    passed through as is. `p95_ms` adds the latency SLO. Raises ValueError for a
    threshold that does not parse.
    """
    events = coerce_events(events)
    duration_s = float(meta.get("duration_s") or max([0.0, *(e.t_s for e in events)]))
    phases = normalise_phases(phases, events, duration_s)
    integrity = dict(integrity or {})
    parsed = [parse_threshold(text, INCIDENT_METRICS + INTEGRITY_METRICS + tuple(integrity))
              for text in thresholds or ()]
    settings = detector or DetectorSettings.for_run(max(duration_s, 1.0), slo=slo, p95_ms=p95_ms)
    bucket_s = bucket_size_s(duration_s)

    journeys = journey_rows(events)
    incident, detection = _incident(events, phases, settings, duration_s)
    incident["slo_checks"] = slo_checks(events, settings.slo, settings.p95_ms)
    incident["bad_versions"] = bad_versions(incident["slo_checks"])
    incident["release"] = (meta.get("incident_versions") or [None])[0]
    incident["halted_at_s"] = meta.get("halted_at_s")
    report = {
        "scenario": meta.get("scenario"), "seed": meta.get("seed"), "users": meta.get("users"),
        "duration_s": duration_s, "client_policy": meta.get("client_policy"),
        "scenario_definition": meta.get("scenario_definition"),
        "partial": bool(meta.get("partial")) or meta.get("stopped_by") is not None,
        "stopped_by": meta.get("stopped_by"),
        "slo": settings.slo, "slo_p95_ms": settings.p95_ms,
        "phases": phases,
        "journeys": journeys,
        "versions": version_rows(events, settings.p95_ms),
        "platforms": platform_rows(events, settings.p95_ms),
        "latency": latency_rows(events),
        "failures": failure_rows(events),
        "networks": network_rows(events),
        "timeline_bucket_s": bucket_s,
        "timeline": timeline_rows(events, bucket_s),
        "incident": incident,
        "detector": {**settings.as_dict(), "alerts": detection.alerts,
                     "false_alarms": detection.false_alarms},
        "policy": policy_block(events, meta.get("client_policy")),
        "timeline_steps": meta.get("timeline_steps") or [],
        "allow_failed_steps": bool(meta.get("allow_failed_steps")),
        "chaos_rules": meta.get("chaos_rules") or [],
        "guardrails": guardrail_rows(meta.get("guardrails") or [], events, settings, duration_s),
        "preflight": meta.get("preflight"),
        "aborted_by": meta.get("aborted_by"),
        "integrity": integrity,
        "alerts": alert_entries(meta.get("alerts"), incident),
    }
    report["thresholds"] = evaluate(parsed, events, {**integrity, **incident,
                                                     **alert_values(report["alerts"])},
                                    duration_s)
    report["headline"] = headline(report)
    return report


def _incident(events: list[JourneyEvent], phases: list[dict], settings: DetectorSettings,
              duration_s: float) -> tuple[dict, Detection]:
    """The incident block. Definitions (all times in seconds since the run started):

    - detected_at_s: when the burn-rate alert first fired at or after the incident phase
      started (`detector` module); time_to_detect_s = detected_at_s - incident start.
    - recovered_at_s: when the observed error rate went back under the SLO for good
      (`detector` module); time_to_recover_s = recovered_at_s - the start of the recovery
      phase, i.e. the moment hotfix 4.2.1 shipped. Negative if the error rate was already
      back under the SLO before the hotfix shipped.
    - users_affected: distinct users with at least one failed journey, or one slower than
      the latency SLO, during the incident or recovery phases, on any version;
      users_affected_pct: their share (0-100) of the distinct users who ran any journey in
      the run; users_slowed: those with a journey slower than the latency SLO.
    - slo_checks and bad_versions (added by `build_report`): each version against each SLO
      during the incident and recovery phases, and the versions that breached one: journey
      success below the success SLO, or a p95 journey duration over the latency SLO
      (`aggregate.slo_checks`).

    Each is None when it cannot be known: no incident or recovery phase, no alert, no
    recovery within the run.
    """
    started, hotfix = phase_start(phases, "incident"), phase_start(phases, "recovery")
    detection = detect(events, settings, incident_start_s=started, end_s=duration_s)
    affected, affected_pct = users_affected(events, settings.p95_ms)
    return {
        "incident_started_at_s": started,
        "hotfix_shipped_at_s": hotfix,
        "detected_at_s": detection.detected_at_s,
        "detected_by": detection.detected_by,
        "time_to_detect_s": _minus(detection.detected_at_s, started),
        "recovered_at_s": detection.recovered_at_s,
        "time_to_recover_s": _minus(detection.recovered_at_s, hotfix),
        "users_affected": affected,
        "users_affected_pct": affected_pct,
        "users_slowed": users_slowed(events, settings.p95_ms),
    }, detection


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def write_html(report: dict, path: str | Path) -> Path:
    """report.html (see `loadtests.report.html`); matplotlib is imported only when drawing,
    so parsing thresholds or building the dict stays cheap."""
    from .html import write_html as write
    return write(report, path)


def write_main_chart_png(report: dict, path: str | Path, dpi: int = 150) -> Path:
    """The main chart alone as a PNG, e.g. for the README."""
    from .html import write_main_chart_png as write
    return write(report, path, dpi=dpi)


def write_report(report: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, report.html and main-chart.png into `out_dir`; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "html": out / "report.html",
             "png": out / "main-chart.png"}
    paths["json"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_html(report, paths["html"])
    write_main_chart_png(report, paths["png"])
    return paths
