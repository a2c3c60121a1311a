"""`banksim report DIR`: the report again from the raw files a run left in its directory.

The directories here are written as a run writes them (scenario.yaml, run.json,
journeys.jsonl, phases.json), from a synthetic journey stream; the command is the real
`banksim` in a subprocess.
"""
import json
import subprocess
import sys

import pytest

from tests.helpers.journey_streams import make_stream
from loadtests.report import write_report
from loadtests.run.rundir import build
from loadtests.scenario import load, to_yaml

REPORT = [sys.executable, "-m", "banksim", "report"]


@pytest.fixture
def run_dir(tmp_path):
    """A bad-release run of 120 s that was killed outright: raw files, no report."""
    stream = make_stream(users=20, duration_s=120)
    (tmp_path / "scenario.yaml").write_text(to_yaml(load("bad-release", {"duration": 120})))
    (tmp_path / "run.json").write_text(json.dumps(
        {"seed": 7, "thresholds": ["success_rate[app_version=4.1.*]>=0.99"]}))
    (tmp_path / "phases.json").write_text(json.dumps(stream.phases))
    lines = [json.dumps(e) for e in stream.events]
    (tmp_path / "journeys.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def report_command(run_dir) -> subprocess.CompletedProcess:
    return subprocess.run([*REPORT, str(run_dir)], capture_output=True, text=True, timeout=120)


def test_report_of_a_run_killed_outright_is_partial_and_fails(run_dir):
    with open(run_dir / "journeys.jsonl", "a") as journeys:
        journeys.write('{"t_s": 119.9, "user": "us')  # the line being written at the kill
    result = report_command(run_dir)
    assert result.returncode == 1, result.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["partial"] is True and report["stopped_by"] is None
    assert report["integrity"] == {"ok": False, "checked": False,
                                   "reason": "the run ended before its ledger was audited"}
    assert report["seed"] == 7 and report["scenario"] == "bad-release"
    assert report["incident"]["bad_versions"] == ["4.2.0"]
    assert {t["name"] for t in report["thresholds"]} == {
        "success_rate[app_version=4.1.*]>=0.99", "journeys>=1",
        "journeys[app_version=4.2.0,phase=incident]>=1"}
    page = (run_dir / "report.html").read_text()
    assert "PARTIAL RUN." in page and (run_dir / "main-chart.png").exists()
    output = " ".join(result.stdout.split())
    assert "PARTIAL RUN" in output and "FAIL: partial run" in output
    assert str((run_dir / "report.html").resolve()) in result.stdout.replace("\n", "")


def finished(run_dir) -> dict:
    """The run in `run_dir` as one that ended: its steps written, its report built."""
    (run_dir / "steps.json").write_text(json.dumps({"steps": [], "halted_at_s": None}))
    integrity = {"ok": True, "ledger_balanced": True, "negative_balances": 0,
                 "duplicate_transfers": 0, "lost_acknowledged_transfers": 0}
    server = {"requests": 1000, "errors": 10, "requests_per_s": 8.3, "error_rate": 0.01}
    return build(run_dir, integrity, server)


def test_report_of_a_finished_run_is_the_same_report_again(run_dir):
    first = finished(run_dir)
    write_report(first, run_dir)
    (run_dir / "report.html").unlink()
    result = report_command(run_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((run_dir / "report.json").read_text()) == json.loads(json.dumps(first))
    assert first["partial"] is False and (run_dir / "report.html").exists()


def test_report_of_a_stopped_run_stays_partial(run_dir):
    write_report(build(run_dir, {"ok": False, "checked": False, "reason": "stopped"}, {},
                       stopped_by="SIGTERM"), run_dir)
    result = report_command(run_dir)
    assert result.returncode == 1
    report = json.loads((run_dir / "report.json").read_text())
    assert report["partial"] is True and report["stopped_by"] == "SIGTERM"


def test_report_refuses_a_directory_that_is_not_a_run(tmp_path):
    result = report_command(tmp_path)
    assert result.returncode == 2
    assert "has no scenario.yaml" in result.stderr and "DIR" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["not json", "[1, 2]"])
def test_report_names_a_damaged_line_and_writes_nothing(run_dir, damage):
    lines = (run_dir / "journeys.jsonl").read_text().splitlines()
    lines[2] = damage
    (run_dir / "journeys.jsonl").write_text("\n".join(lines) + "\n")
    result = report_command(run_dir)
    assert result.returncode == 2
    assert "journeys.jsonl, line 3: not a JSON object" in result.stderr
    assert not (run_dir / "report.json").exists()


def test_report_refuses_raw_files_of_another_shape(run_dir):
    (run_dir / "phases.json").write_text('{"baseline": 0}')
    result = report_command(run_dir)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "a raw file is not as a run writes it" in result.stderr
    assert not (run_dir / "report.json").exists()


def test_a_summary_written_into_a_file_keeps_every_table_cell_whole(run_dir):
    """Piped into a CI log, a long threshold is printed whole, not cut at 80 columns."""
    long = "success_rate[app_version=4.1.*,journey=send_money,phase=recovery]>=0.99"
    (run_dir / "run.json").write_text(json.dumps({"seed": 7, "thresholds": [long]}))
    result = report_command(run_dir)
    assert any(long in line for line in result.stdout.splitlines()), result.stdout
    assert "…" not in result.stdout
    rules = [line for line in result.stdout.splitlines() if line.startswith("─")]
    assert rules and max(len(line) for line in rules) <= 100  # the rule does not span 1,000


@pytest.mark.parametrize("damage", ["steps.json gone", "journeys.jsonl cut short"])
def test_a_finished_run_whose_raw_files_changed_is_refused_not_passed(run_dir, damage):
    write_report(finished(run_dir), run_dir)
    before = (run_dir / "report.json").read_text()
    if damage == "steps.json gone":
        (run_dir / "steps.json").unlink()
    else:
        lines = (run_dir / "journeys.jsonl").read_text().splitlines()
        (run_dir / "journeys.jsonl").write_text("\n".join(lines[:15]) + "\n")
    result = report_command(run_dir)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "PASS" not in result.stdout
    assert (run_dir / "report.json").read_text() == before  # nothing rewritten


def test_report_of_a_run_a_guardrail_aborted_fails_again_naming_it(run_dir):
    # the load stopped at 50 s, in the incident (30-72 s of this 120 s run)
    name = "guardrails[0] (success_rate[window=10s]<0.8 -> abort_run)"
    phases = json.loads((run_dir / "phases.json").read_text())
    (run_dir / "phases.json").write_text(json.dumps(
        [{**p, "end_s": min(p["end_s"], 50.0)} for p in phases if p["start_s"] <= 50]))
    events = [line for line in (run_dir / "journeys.jsonl").read_text().splitlines()
              if json.loads(line)["t_s"] < 50]
    (run_dir / "journeys.jsonl").write_text("\n".join(events) + "\n")
    (run_dir / "steps.json").write_text(json.dumps({
        "steps": [], "halted_at_s": None, "aborted_by": name, "preflight": None,
        "guardrails": [{"when": "success_rate[window=10s]<0.8", "then": "abort_run",
                        "fired_at_s": 50.0, "value": 0.7, "effect": "run aborted"}]}))
    write_report(build(run_dir, {"ok": True}, {}), run_dir)
    result = report_command(run_dir)
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["aborted_by"] == name and report["partial"] is False
    assert 49 <= report["duration_s"] <= 50  # what was measured, not the 120 s planned
    assert [t["name"] for t in report["thresholds"]] == [  # no "did it reach" thresholds
        "success_rate[app_version=4.1.*]>=0.99"]
    assert f"FAIL: {name} aborted the run at 50 s" in " ".join(result.stdout.split())


def test_a_run_whose_prometheus_never_answered_fails_and_says_why(run_dir):
    """--prometheus asked for, no alerts.json: the alerts were not graded, so no pass."""
    from loadtests.report.summary import verdict
    integrity = {"ok": True, "ledger_balanced": True}
    started = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**started, "prometheus": True}))
    report = build(run_dir, integrity, {})
    passed, reasons = verdict(report)
    assert not passed and "Prometheus did not say which alerts fired" in report["alerts_error"]
    assert any(reason.startswith("alerts not graded") for reason in reasons)
    (run_dir / "alerts.json").write_text(json.dumps({"rules": [], "firing": []}))
    assert "alerts_error" not in build(run_dir, integrity, {})
