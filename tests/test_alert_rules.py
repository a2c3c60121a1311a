"""The shipped Prometheus rules (deploy/alerts.yml): promtool accepts them, their unit tests
pass and cover every alert, and `--alert-speedup` rewrites durations and nothing else."""
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from loadtests.run.alert_rules import speed_up, speed_up_expression

ROOT = Path(__file__).resolve().parent.parent
RULES, RULE_TESTS = ROOT / "deploy" / "alerts.yml", ROOT / "deploy" / "alerts_test.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not on PATH (Debian: apt-get install prometheus)")


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT / "deploy")


@needs_promtool
def test_promtool_accepts_the_shipped_rules():
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_the_shipped_rules_pass_their_unit_tests():
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def alert_names() -> set[str]:
    rules = yaml.safe_load(RULES.read_text())
    return {rule["alert"] for group in rules["groups"] for rule in group["rules"]
            if "alert" in rule}


def test_every_shipped_alert_is_tested_firing_and_silent():
    tests = yaml.safe_load(RULE_TESTS.read_text())
    checks = [check for test in tests["tests"] for check in test.get("alert_rule_test") or ()]
    fires = {c["alertname"] for c in checks if c.get("exp_alerts")}
    silent = {c["alertname"] for c in checks if not c.get("exp_alerts")}
    assert alert_names() == fires == silent
    assert tests["rule_files"] == [RULES.name]


def test_the_per_version_page_fires_for_the_broken_release_alone():
    """The unit test the README promises: 40 % of a release's requests fail, it pages for
    that version (and only it) within minutes of the release."""
    tests = yaml.safe_load(RULE_TESTS.read_text())
    (test,) = [t for t in tests["tests"] if "40 %" in t["name"]]
    firing = [c for c in test["alert_rule_test"]
              if c["alertname"] == "BankVersionErrorBudgetBurn" and c["exp_alerts"]]
    assert [a["exp_labels"]["app_version"] for c in firing for a in c["exp_alerts"]] == \
        ["4.2.0"]


def test_speed_up_divides_windows_offsets_and_for_durations():
    assert speed_up_expression('rate(x{a="b"}[1h]) offset 30m', 60) == \
        'rate(x{a="b"}[60s]) offset 30s'
    assert speed_up_expression("max_over_time(rate(x[5m])[30m:1m])", 60) == \
        "max_over_time(rate(x[5s])[30s:1s])"
    assert speed_up_expression("rate(x[1h30m])", 3600) == "rate(x[4s])"
    assert speed_up_expression("rate(x[10s])[2m:]", 2) == "rate(x[5s])[60s:]"
    assert speed_up_expression("rate(x[3s])", 4) == "rate(x[4s])"  # never under MIN_RANGE_S


def test_speed_up_leaves_strings_names_and_labels_alone():
    expr = 'x{route=~"/a[5m]", window="offset 1h"} > 0 and y:ratio:rate1h > 0'
    assert speed_up_expression(expr, 60) == expr
    document = {"groups": [{"name": "g", "interval": "30s", "rules": [
        {"alert": "A", "expr": "rate(x[6h]) > 1", "for": "15m", "keep_firing_for": "90s",
         "labels": {"window": "1h"}, "annotations": {"summary": "over [1h]"}}]}]}
    (group,) = speed_up(document, 60)["groups"]
    assert group["interval"] == "1s"
    assert group["rules"][0] == {"alert": "A", "expr": "rate(x[360s]) > 1", "for": "15s",
                                 "keep_firing_for": "1500ms", "labels": {"window": "1h"},
                                 "annotations": {"summary": "over [1h]"}}


@needs_promtool
def test_the_shipped_rules_sped_up_still_pass_promtool(tmp_path):
    document = speed_up(yaml.safe_load(RULES.read_text()), 60)
    sped = tmp_path / "alerts.yml"
    sped.write_text(yaml.safe_dump(document, sort_keys=False))
    result = promtool("check", "rules", str(sped))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[60s]" in sped.read_text() and "[1h]" not in sped.read_text()
