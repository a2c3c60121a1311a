"""report.html and compare.html built from recorded journey streams (no bank, no Locust), as
`banksim incident` and `banksim compare` write them: the pages the browser checks open."""
import json
from pathlib import Path

from tests.helpers.journey_streams import make_stream, slow_release

from loadtests.compare.html import write_compare_html
from loadtests.compare.metrics import compare_document, summarise_variant
from loadtests.compare.plan import slug
from loadtests.report import build_report, write_html

INTEGRITY = {"ok": True, "ledger_balanced": True, "negative_balances": 0,
             "duplicate_transfers": 0, "lost_acknowledged_transfers": 0,
             "acknowledged_transfers": 512}
THRESHOLDS = ["success_rate[app_version=4.1.*,phase=incident]>=0.99", "time_to_detect_s<=30"]


def incident_report() -> dict:
    """The bad release: 4.2.0 breaks, the alert fires, the hotfix brings it back."""
    stream = make_stream(users=40, duration_s=120)
    return build_report(stream.events, stream.phases, stream.meta(), INTEGRITY, THRESHOLDS)


def partial_failing_report() -> dict:
    """The most a first screen has to hold: a run stopped by Ctrl-C (the banner above the
    headline), a latency SLO, failing thresholds and a failed timeline step."""
    stream = slow_release()
    meta = stream.meta(scenario="slow-ios-release", stopped_by="SIGINT", timeline_steps=[
        {"step": "timeline[1]", "at_s": 30.0, "phase": "incident", "outcome": "failed",
         "calls": [{"call": "POST /admin/chaos/rules", "outcome": "failed",
                    "note": "503 service_unavailable"}]}])
    return build_report(stream.events, stream.phases, meta, INTEGRITY,
                        [*THRESHOLDS, "p95_ms[platform=ios]<1000", "users_affected==0"],
                        p95_ms=1500)


def nothing_ran_report() -> dict:
    """A run stopped before any journey: every chart says so instead of drawing nothing."""
    meta = {"scenario": "bad-release", "seed": 42, "users": 0, "duration_s": 20.0,
            "client_policy": "backoff", "stopped_by": "SIGTERM"}
    return build_report([], [], meta, {}, ["journeys>=1"])


def write_report_page(report: dict, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    return write_html(report, out / "report.html")


def write_compare_page(out: Path, repeat: int = 2, stopped: bool = False) -> Path:
    """compare.html of client_policy=none vs backoff, `repeat` runs each: each run a report.json
    and journeys.jsonl from a stream (backoff's retries rescue most of 4.2.0's journeys).
    `stopped`: the comparison was stopped before backoff's runs wrote anything."""
    variants = []
    for index, (policy, failure_rate) in enumerate((("none", 0.5), ("backoff", 0.12))):
        runs = []
        for j in range(repeat):
            stream = make_stream(users=20, duration_s=60, seed=42 + j,
                                 bad_failure_rate=failure_rate)
            report = build_report(stream.events, stream.phases,
                                  stream.meta(client_policy=policy, seed=42 + j), INTEGRITY, [])
            run = out / slug(index, {"client_policy": policy}) / f"seed-{42 + j}"
            run.mkdir(parents=True, exist_ok=True)
            runs.append(str(run.relative_to(out)))
            if stopped and policy == "backoff":
                continue
            (run / "report.json").write_text(json.dumps(report), encoding="utf-8")
            (run / "journeys.jsonl").write_text(
                "".join(json.dumps(event) + "\n" for event in stream.events), encoding="utf-8")
        variants.append(summarise_variant(out, {"client_policy": policy}, runs))
    document = compare_document("bad-release", 42, repeat, variants)
    document["runs_planned"] = repeat * len(variants)
    document["runs_done"] = repeat * (len(variants) - stopped)
    return write_compare_html(document, out / "compare.html")
