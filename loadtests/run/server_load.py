"""The bank's side of a run: how many requests it received, and how many it answered badly.

Read from the bank's own /metrics at the end of a run, before the bank stops, so naive
retries show up as load on the server, not only as client retries. Two counters add up:

- `http_requests_total`: every request the bank's app answered (by route and status);
  operator traffic (/admin, /metrics, /health) is left out, it is not the users' load.
- `chaos_injections_total`: faults the chaos layer injected. A fault injected *before*
  the app (the default) means a request the app never counted, so it is added to the
  requests; one injected *after* (the answer lost after the money moved) was counted
  already. Every injected fault but a pure delay (`latency`) is an error the user saw.

A rule's phase is read from /admin/chaos/rules; a rule cleared during the run (the
payments outage's) is no longer listed and counts as "before", chaos's default.

`wasted_requests` comes from the bank's access log (server.log): answers that took the
bank, from arriving whole to answering (`queued_ms + duration_ms`), longer than the
client policy's timeout, so the phone had already given up on them.
"""
import json
from pathlib import Path

from chaos.client import AdminClient
from loadtests.phone.retry import policy_of
from loadtests.report.dynamics import wasted_requests

OPERATOR_ROUTES = ("/admin", "/metrics", "/health")
NOT_AN_ERROR = ("latency",)


def server_load(admin: AdminClient, metrics_text: str, duration_s: float,
                server_log: Path | None = None, scenario=None) -> dict:
    """The report's `server` block: requests, errors, errors_5xx, injected_faults,
    requests_per_s and error_rate (a fraction), over the run's `duration_s`, and
    wasted_requests (None without the bank's log)."""
    after = {rule["id"] for rule in admin("GET", "/admin/chaos/rules")["rules"]
             if rule.get("phase") == "after"}
    block = summarise(metrics_text, after, duration_s)
    block["wasted_requests"] = None
    if server_log is not None and scenario is not None and Path(server_log).is_file():
        block["wasted_requests"] = wasted_requests(access_lines(server_log),
                                                   policy_of(scenario.client).timeout_s)
    return block


def access_lines(path: Path):
    """The JSON access-log lines of the bank's log (other lines are gunicorn's own)."""
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


def summarise(metrics_text: str, after_rules: set[str], duration_s: float) -> dict:
    """The `server` block from /metrics' text (see the module docstring)."""
    # Imported here: `banksim serve` loads this module with the command line, and must
    # choose prometheus_client's multiprocess directory before anything imports it.
    from prometheus_client.parser import text_string_to_metric_families
    answered = errors_5xx = injected = broken = before = 0
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "http_requests_total":
                if sample.labels.get("route", "").startswith(OPERATOR_ROUTES):
                    continue
                answered += sample.value
                errors_5xx += sample.value if sample.labels.get("status", "").startswith("5") \
                    else 0
            elif sample.name == "chaos_injections_total":
                injected += sample.value
                if sample.labels.get("fault") not in NOT_AN_ERROR:
                    broken += sample.value
                if sample.labels.get("rule") not in after_rules:
                    before += sample.value
    requests = answered + before
    return {"requests": int(requests), "errors": int(errors_5xx + broken),
            "errors_5xx": int(errors_5xx), "injected_faults": int(injected),
            "requests_per_s": round(requests / duration_s, 3) if duration_s else None,
            "error_rate": round((errors_5xx + broken) / requests, 4) if requests else None}
