"""From the runs' report directories to compare.json's figures (docs/reference.md, compare.json).

Pure: reads report.json (and journeys.jsonl, for the run's overall p95) and does
arithmetic. Each metric of a variant is {mean, min, max, n} over the runs that measured
it (n of them); a metric no run measured is null. Rates are fractions 0..1;
users_affected_pct stays a percentage (0..100) as in report.json.
"""
import json
import statistics
from collections import defaultdict
from pathlib import Path

from loadtests.report.aggregate import AFFECTED_PHASES, percentile
from loadtests.report.dynamics import recovery_judged
from loadtests.report.events import load_events
from loadtests.report.guardrails import reasons as stop_reasons
from loadtests.scenario import Scenario

METRICS = ("success_rate", "bad_version_success_rate", "bad_version_users", "users_affected",
           "users_affected_pct",
           "time_to_detect_s", "time_to_recover_s", "requests_per_journey",
           "retries_per_journey", "p95_ms", "server_requests_per_s", "server_error_rate",
           "goodput_per_s", "dropped", "wasted_requests", "metastable_s")
HIGHER_IS_BETTER = {"success_rate", "bad_version_success_rate", "goodput_per_s"}
# What a run with a report but no value for the metric lived through: an outcome, counted
# ("never fired" is a result about detection, not a missing number). Other metrics: not
# measured (bad_version_users when the incident publishes no release).
UNMEASURED = {"time_to_detect_s": "never fired",
              "time_to_recover_s": "no recovery seen",
              "metastable_s": "did not recover"}
# Metrics that only a run with a trigger (a step that starts `recovery`) and a whole
# window after it can measure: a run without one did not "fail to recover"
NEEDS_TRIGGER = {"metastable_s"}
# Metrics whose "not measured" outcome is worse than any value: never recovering is worse
# than recovering late (an alert that never fired may be good news: not here)
NEVER_IS_WORST = {"metastable_s"}


def read_report(run_dir: Path) -> dict | None:
    """A run's report.json; None without one, or for a partial one (a run stopped before
    its end): its figures cover part of a run and would skew the variant's."""
    path = Path(run_dir) / "report.json"
    report = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    return None if report is None or report.get("partial") else report


def run_metrics(run_dir: Path) -> dict:
    """One run's figures; every METRIC is present, None when the run did not measure it
    (no report at all: every metric None)."""
    report = read_report(run_dir)
    if report is None:
        return dict.fromkeys(METRICS)
    incident = report.get("incident") or {}
    overall = (report.get("policy") or {}).get("overall") or {}
    server = report.get("server") or {}
    return {
        "success_rate": _rate(report.get("journeys") or [], lambda row: True),
        "bad_version_success_rate": bad_version_success_rate(report),
        "bad_version_users": bad_version_users(report),
        "users_affected": incident.get("users_affected"),
        "users_affected_pct": incident.get("users_affected_pct"),
        "time_to_detect_s": incident.get("time_to_detect_s"),
        "time_to_recover_s": incident.get("time_to_recover_s"),
        "requests_per_journey": overall.get("requests_per_journey"),
        "retries_per_journey": overall.get("retries_per_journey"),
        "p95_ms": _p95(Path(run_dir) / "journeys.jsonl"),
        "server_requests_per_s": server.get("requests_per_s"),
        "server_error_rate": server.get("error_rate"),
        **dynamics_metrics(report),
    }


def dynamics_metrics(report: dict) -> dict:
    """goodput_per_s (journeys that succeeded, a second of the run), dropped arrivals,
    wasted_requests (answered after the client's timeout) and metastable_s (trigger end to
    goodput back within the SLO; None when it never came back, or there was no trigger)."""
    load, incident = report.get("load") or {}, report.get("incident") or {}
    duration = report.get("duration_s") or 0
    succeeded = sum(row.get("succeeded", 0) for row in load.get("timeline") or ())
    return {"goodput_per_s": round(succeeded / duration, 3) if load and duration else None,
            "dropped": load.get("dropped"),
            "wasted_requests": (report.get("server") or {}).get("wasted_requests"),
            "metastable_s": incident.get("metastable_s")}


def incident_versions(report: dict) -> list[str]:
    """The version(s) the step that starts `incident` published: from the scenario as run
    (scenario_definition), else the report's incident.release; [] when it published none."""
    definition = report.get("scenario_definition")
    if definition:
        return Scenario(definition).incident_versions()
    release = (report.get("incident") or {}).get("release")
    return [release] if release else []


def bad_version_success_rate(report: dict) -> float | None:
    """Success of the journeys on the incident's version(s) during the incident and
    recovery phases; of every journey in those phases when the incident published none."""
    bad = set(incident_versions(report))
    return _rate(report.get("journeys") or [],
                 lambda row: row["phase"] in AFFECTED_PHASES
                 and (not bad or row["app_version"] in bad))


def bad_version_users(report: dict) -> int | None:
    """Users who ran a journey on the incident's version(s): who got the bad release (a
    staged rollout with a halt should keep this low); None when it published none."""
    bad = set(incident_versions(report))
    if not bad:
        return None
    return sum(row["users"] for row in report.get("versions") or ()
               if row["app_version"] in bad)


def _rate(rows: list[dict], keep) -> float | None:
    chosen = [row for row in rows if keep(row)]
    attempts = sum(row["attempts"] for row in chosen)
    return round(sum(row["succeeded"] for row in chosen) / attempts, 4) if attempts else None


def _p95(path: Path) -> float | None:
    if not path.is_file():
        return None
    value = percentile([e.duration_ms for e in load_events(path)], 95)
    return None if value is None else round(value, 1)


def run_passed(run_dir: Path) -> tuple[bool, bool]:
    """(integrity ok, every threshold passed) of one run; a run without a report fails,
    and so does one a guardrail aborted or whose preflight failed (it has no verdict on
    the thresholds it never reached)."""
    report = read_report(run_dir)
    if report is None:
        return False, False
    integrity = (report.get("integrity") or {}).get("ok") is True
    stopped = bool(stop_reasons(report))
    return integrity, all(t["passed"] for t in report.get("thresholds") or ()) and not stopped


def spread(values: list) -> dict | None:
    """{mean, min, max, n} of the measured values; None when none was measured."""
    measured = [v for v in values if v is not None]
    if not measured:
        return None
    return {"mean": round(statistics.fmean(measured), 4), "min": min(measured),
            "max": max(measured), "n": len(measured)}


def success_over_time(run_dirs: list[Path]) -> list[list[float]]:
    """[[t_s, success rate], ...]: every version's journeys per report bucket, the rate
    averaged over the runs that had journeys in that bucket."""
    by_bucket = defaultdict(list)
    for run_dir in run_dirs:
        report = read_report(run_dir) or {}
        totals = defaultdict(lambda: [0, 0])
        for row in report.get("timeline") or ():
            totals[row["t_s"]][0] += row["attempts"]
            totals[row["t_s"]][1] += row["failed"]
        for t_s, (attempts, failed) in totals.items():
            if attempts:
                by_bucket[t_s].append(1 - failed / attempts)
    return [[t_s, round(statistics.fmean(rates), 4)] for t_s, rates in sorted(by_bucket.items())]


def summarise_variant(out: Path, params: dict, runs: list[str]) -> dict:
    """One entry of compare.json's `variants` (runs are paths relative to `out`)."""
    dirs = [out / run for run in runs]
    per_run = [run_metrics(d) for d in dirs]
    checks = [run_passed(d) for d in dirs]
    reports = [read_report(d) for d in dirs]
    return {"params": params, "runs": runs,
            "reported": sum(r is not None for r in reports),
            "triggered": sum(r is not None and recovery_judged(
                (r.get("incident") or {}).get("trigger_ended_at_s"), r.get("duration_s"))
                for r in reports),
            "metrics": {m: spread([r[m] for r in per_run]) for m in METRICS},
            "integrity_ok": bool(checks) and all(ok for ok, _ in checks),
            "thresholds_passed": bool(checks) and all(passed for _, passed in checks),
            "success_over_time": success_over_time(dirs)}


def runs_for(variant: dict, metric: str) -> int | None:
    """The variant's runs that could measure `metric`: those with a report (and, for the
    metrics that need one, a trigger); what they did not measure is their outcome."""
    if metric in NEEDS_TRIGGER and "triggered" in variant:
        return variant["triggered"]
    return variant.get("reported")


def compare_document(scenario: str, seed: int, repeat: int, variants: list[dict]) -> dict:
    """compare.json as a dict."""
    return {"scenario": scenario, "seed": seed, "repeat": repeat, "variants": variants,
            "verdicts": verdicts(variants)}


def _label(params: dict, key: str) -> str:
    value = params[key]
    return f"{key}={str(value).lower() if isinstance(value, bool) else value}"


def verdicts(variants: list[dict], metrics: tuple = METRICS) -> dict[str, list[str]]:
    """Per varied key, one plain sentence per metric: which value wins, or "no clear
    difference" when the best one's min-max range overlaps another's. With more keys
    varied, variants are compared within each combination of the other keys."""
    keys = list(variants[0]["params"]) if variants else []
    found = {}
    for key in keys:
        lines = []
        slices = defaultdict(list)
        for variant in variants:
            rest = tuple((k, str(v)) for k, v in variant["params"].items() if k != key)
            slices[rest].append(variant)
        for rest, group in slices.items():
            where = f" (with {', '.join(f'{k}={v}' for k, v in rest)})" if rest else ""
            for metric in metrics:
                sentence = verdict(metric, [(_label(v["params"], key), v["metrics"][metric],
                                             runs_for(v, metric)) for v in group])
                if sentence:
                    lines.append(sentence + where)
        found[key] = lines
    return found


def verdict(metric: str, entries: list[tuple]) -> str | None:
    """One sentence comparing the entries (label, spread, runs with a report) of `metric`
    (None: nothing to compare). "Clearly" only when every entry measured it in the same
    number n >= 2 of runs, every run measured it, and the best range overlaps no other;
    a run that measured nothing counts as its outcome (the alert never fired)."""
    better = "higher" if metric in HIGHER_IS_BETTER else "lower"
    rows = []
    for label, measured, *reported in entries:  # (an older caller passes no runs)
        runs = reported[0] if reported and reported[0] is not None else \
            (measured or {}).get("n", 0)
        if runs:
            rows.append(_Row(label, measured, runs))
    if metric not in UNMEASURED:
        rows = [row for row in rows if row.n]
    if len(rows) < 2 or not any(row.n for row in rows):
        return None
    ranked = sorted(rows, key=lambda row: (not row.n, (row.mean if row.n else 0)
                                           * (-1 if better == "higher" else 1)))
    head = f"{metric} ({better} is better): "
    figures = "; ".join(row.text(metric) for row in ranked)
    if metric in NEVER_IS_WORST and _all_or_nothing(ranked):
        worse = " and ".join(row.label for row in ranked if not row.n)
        return (f"{head}{ranked[0].label} is clearly better: every one of its runs measured "
                f"it, while {worse} {UNMEASURED[metric]} in any run ({figures})")
    if len({row.n for row in rows}) > 1 or any(row.n < row.runs for row in rows):
        counts = ", ".join(f"{row.label} in {row.n} of {row.runs}" for row in ranked)
        what = "measured" if metric not in UNMEASURED else "the run measured it"
        return (f"{head}no verdict: the variants measured it in different numbers of runs "
                f"({what}: {counts}), so their figures are not like for like ({figures})")
    best, rest = ranked[0], ranked[1:]
    if all(row.n and row.mean == best.mean for row in rest):
        return f"{head}no difference: every variant has the same mean ({figures})"
    if best.n < 2:
        return (f"{head}{best.label} came out {better} in one run each ({figures}); a single "
                f"run cannot tell a difference from chance: use --repeat 3 or more")
    overlapping = [row.label for row in rest if overlaps(best.spread, row.spread)]
    if not overlapping:
        return f"{head}{best.label} is clearly {better} ({figures})"
    clear = [row.label for row in rest if not overlaps(best.spread, row.spread)]
    tail = f"; {', '.join(clear)} clearly worse" if clear else ""
    return (f"{head}no clear difference between {best.label} and "
            f"{' and '.join(overlapping)}, the ranges overlap ({figures}){tail}")


def _all_or_nothing(rows: list) -> bool:
    """Each variant measured the metric in every one (>= 2) of its runs, or in none, and
    both kinds are there: e.g. one recovered every time, the other never."""
    return (all(row.runs >= 2 and row.n in (0, row.runs) for row in rows)
            and any(row.n for row in rows) and any(not row.n for row in rows))


class _Row:
    """One entry of a verdict: label, spread (None: no run measured it), runs reported."""

    def __init__(self, label: str, spread: dict | None, runs: int):
        self.label, self.spread, self.runs = label, spread, runs
        self.n = spread.get("n", runs) if spread else 0
        self.mean = spread["mean"] if spread else None

    def text(self, metric: str) -> str:
        missing = self.runs - self.n
        outcome = f"{UNMEASURED.get(metric, 'not measured')} in {missing} of {self.runs}"
        if not self.n:
            return f"{self.label} {outcome}"
        return f"{self.label} {_fmt(self.spread)} n={self.n}" + (
            f", {outcome}" if missing else "")


def overlaps(a: dict, b: dict) -> bool:
    """Whether two min-max ranges share a point: then the difference is within the spread."""
    return a["min"] <= b["max"] and b["min"] <= a["max"]


def _fmt(s: dict) -> str:
    if s["min"] == s["max"]:
        return f"{s['mean']:g}"
    return f"{s['mean']:g} [{s['min']:g}-{s['max']:g}]"
