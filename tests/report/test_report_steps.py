"""The warnings a report gives about chaos rules that did nothing (loadtests/report/steps.py)."""
from loadtests.report.steps import idle_rules


def rule(name, matched, injected, step="timeline[0]"):
    return {"id": f"rule_{name}", "name": name, "step": step, "preset": None,
            "matched": matched, "injected": injected, "removed_at_s": None}


def test_every_rule_nothing_shows_injected_gets_a_warning():
    report = {"chaos_rules": [rule("busy", 10, 4), rule("idle", 0, 0), rule("blunt", 7, 0),
                              rule("expired", None, None)]}
    lines = idle_rules(report)
    assert [line.split("'")[1] for line in lines] == ["idle", "blunt", "expired"]
    assert "gone before its counters could be read" in lines[2]


def test_a_report_without_rules_warns_of_none():
    assert idle_rules({}) == [] and idle_rules({"chaos_rules": [rule("busy", 1, 1)]}) == []
