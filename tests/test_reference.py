"""docs/reference.md against the code: the API operations of the live /openapi.json, the
chaos fault types and their settings, and the keys of report.json."""
import re
from pathlib import Path

import pytest

from chaos.faults import FAULTS

REFERENCE = Path(__file__).parent.parent / "docs" / "reference.md"
OPERATION = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`")
NOT_IN_OPENAPI = {("GET", "/openapi.json"), ("GET", "/docs")}  # the document and its viewer


def section(title: str) -> str:
    text = REFERENCE.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def words(text: str) -> set[str]:
    """Every identifier in the text's code spans and code blocks."""
    spans = re.findall(r"`([^`]*)`", text) + re.findall(r"^    .*$", text, re.M)
    return {w for span in spans for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span)}


def test_every_operation_is_documented_and_every_documented_one_exists(client):
    spec = client.get("/openapi.json").get_json()
    served = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    documented = set(OPERATION.findall(REFERENCE.read_text()))
    assert served - documented == set(), "served but not in docs/reference.md"
    assert documented - served == NOT_IN_OPENAPI, "in docs/reference.md but not served"
    for method, path in NOT_IN_OPENAPI:
        assert client.open(path, method=method).status_code == 200


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_every_fault_type_and_setting_is_documented(kind):
    rows = [line for line in section("Chaos rules").splitlines() if line.startswith(f"| `{kind}`")]
    assert len(rows) == 1, f"no row for fault {kind}"
    assert set(FAULTS[kind].Settings().fields) <= words(rows[0])


def test_every_rule_field_is_documented():
    from chaos.schemas import MatchSchema, PatternSchema, RuleSchema
    fields = set(RuleSchema().fields) | set(MatchSchema().fields) | set(PatternSchema().fields)
    assert fields - words(section("Chaos rules")) == set()


def test_every_report_key_is_documented():
    from loadtests.run.reconcile import reconcile
    from loadtests.report import build_report
    phases = [{"name": n, "start_s": a, "end_s": b}
              for n, a, b in (("baseline", 0, 10), ("incident", 10, 20), ("recovery", 20, 30))]
    events = [{"t_s": t / 10, "user": f"u{t % 5}", "journey": "send_money",
               "app_version": "4.2.0" if 100 <= t < 200 else "4.1.3", "platform": "ios",
               "phase": next(p["name"] for p in reversed(phases) if t / 10 >= p["start_s"]),
               "ok": not (100 <= t < 200 and t % 2), "duration_ms": 100.0, "retries": t % 2,
               "requests": 1 + t % 2} for t in range(300)]
    checks = {name: {"ok": True, "violations": 0} for name in
              ("entries_sum_to_zero", "movements_balanced", "balances_match_entries",
               "no_negative_balances")}
    integrity = reconcile({"ok": True, "checks": checks}, [], [])
    from loadtests.scenario import load
    scenario = load("bad-release", {"duration": 30})
    steps = [{"step": "timeline[0]", "at_s": 10, "started_s": 10.1, "phase": "incident",
              "calls": [{"call": "POST /admin/releases", "outcome": "ok", "note": None}],
              "outcome": "ok"}]
    report = build_report(events, phases, {"scenario": "bad-release", "seed": 1, "users": 5,
                                           "duration_s": 30, "client_policy": "backoff",
                                           "scenario_definition": scenario.definition,
                                           "timeline_steps": steps, "halted_at_s": None,
                                           "incident_versions": ["4.2.0"],
                                           "chaos_rules": [{
                                               "id": "rule_1", "name": "r",
                                               "step": "timeline[0]", "preset": None,
                                               "matched": 3, "injected": 1,
                                               "removed_at_s": None}],
                                           "alerts": {"rules": [], "firing": [{
                                               "name": "A", "labels": {},
                                               "intervals": [[12.0, None]]}]},
                                           "guardrails": [{
                                               "when": "alert", "then": "chaos_off",
                                               "fired_at_s": 12.0, "value": 0.5,
                                               "effect": "chaos switched off"}],
                                           "preflight": {
                                               "ok": True, "success_rate": 1.0,
                                               "p95_ms": 100.0, "journeys": 100,
                                               "at_s": 10.0, "reason": None},
                                           "aborted_by": None},
                          integrity, ["success_rate>0"], p95_ms=500)
    keys = set(report)
    for value in report.values():
        rows = value if isinstance(value, list) else [value]
        for row in rows[:1]:
            if isinstance(row, dict):
                keys |= set(row)
    keys |= set(report["policy"]["overall"]) | set(report["detector"]["alerts"][0])
    keys |= set(report["timeline_steps"][0]["calls"][0]) | set(report["alerts"][0])
    keys -= set(report["policy"]["by_phase"])  # phase names, listed in `phases`
    assert keys - words(section("report.json")) == set()
