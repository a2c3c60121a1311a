"""`banksim compare` as a user runs it: usage errors (exit 2, nothing written) and one short
real comparison (seed, gunicorn, Locust, twice)."""
import json
import os
import subprocess
import sys

import pytest

COMPARE = [sys.executable, "-m", "banksim", "compare"]


@pytest.mark.parametrize("args, said", [
    (["--vary", "colour=red,blue"], "KEY one of client_policy"),
    (["--vary", "client_policy=none,sometimes"], "client_policy must be one of"),
    (["--vary", "adoption=0.5", "--vary", "adoption=0.9"], "adoption is varied twice"),
    (["--vary", "halt_on_alert=yes"], "halt_on_alert must be true or false"),
    ([], "Missing option '--vary'"),
    (["--scenario", "no-such-story", "--vary", "users=5,10"], "no such scenario"),
])
def test_usage_errors_exit_2_naming_the_problem_and_write_nothing(tmp_path, args, said):
    out = tmp_path / "out"
    result = subprocess.run([*COMPARE, *args, "--out", str(out)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert said in " ".join(result.stderr.split())
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("BANKSIM_TEST_DATABASE_URL")),
                    reason="two real runs on SQLite; CI's PostgreSQL pass need not repeat them")
def test_a_short_real_comparison_writes_compare_json_and_html(tmp_path):
    result = subprocess.run([*COMPARE, "--vary", "client_policy=none,backoff", "--users", "10",
                             "--duration", "20s", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=420)
    output = result.stdout + result.stderr
    assert result.returncode in (0, 1), output[-3000:]
    document = json.loads((tmp_path / "compare.json").read_text())
    assert (document["scenario"], document["seed"], document["repeat"]) == ("bad-release", 42, 1)
    assert [v["params"] for v in document["variants"]] == [{"client_policy": "none"},
                                                          {"client_policy": "backoff"}]
    for variant in document["variants"]:
        (run,) = variant["runs"]
        assert not os.path.isabs(run) and (tmp_path / run / "report.json").is_file()
        report = json.loads((tmp_path / run / "report.json").read_text())
        assert report["server"]["requests"] > 0  # read from the bank's /metrics
        metrics = variant["metrics"]
        assert 0 <= metrics["success_rate"]["mean"] <= 1
        assert metrics["requests_per_journey"]["mean"] >= 1
        assert metrics["server_requests_per_s"]["mean"] > 0
        assert variant["integrity_ok"] is True
    passed = all(v["integrity_ok"] and v["thresholds_passed"] for v in document["variants"])
    assert result.returncode == (0 if passed else 1), output[-3000:]
    assert "client_policy" in document["verdicts"]
    html = (tmp_path / "compare.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("BANKSIM_TEST_DATABASE_URL")),
                    reason="four real runs on SQLite; CI's PostgreSQL pass need not repeat them")
def test_repeated_runs_show_their_count_never_fired_counts_and_a_log_stays_whole(tmp_path):
    # adoption=0: no phone installs 4.2.0, the only version the faults hit, so that
    # variant's alert never fires in either run: an outcome, not a missing number
    result = subprocess.run([*COMPARE, "--vary", "adoption=0,0.9", "--repeat", "2",
                             "--users", "5", "--duration", "10s", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode in (0, 1), output[-3000:]
    document = json.loads((tmp_path / "compare.json").read_text())
    assert [v["reported"] for v in document["variants"]] == [2, 2]
    never = document["variants"][0]
    assert never["params"] == {"adoption": 0} and never["metrics"]["time_to_detect_s"] is None
    lines = output.splitlines()
    table = "\n".join(lines[next(i for i, line in enumerate(lines) if "banksim compare" in line):])
    assert "never fired in 2 of 2" in table  # the adoption=0 cell
    assert "n=2" in table  # every figure with its run count
    for line in document["verdicts"]["adoption"]:
        assert line.startswith(line.split(" ")[0] + " (lower is better)") or \
            line.startswith(line.split(" ")[0] + " (higher is better)")
        if line.startswith("time_to_detect_s"):
            assert "clearly" not in line and "never fired in 2 of 2" in line
    assert "min left" not in output and "4 of 4 runs done" in output  # no stale estimate
    for variant in document["variants"]:  # each run's report path whole on one line
        for run in variant["runs"]:
            path = str((tmp_path / run / "report.html").resolve())
            assert f"report: {path}" in lines
