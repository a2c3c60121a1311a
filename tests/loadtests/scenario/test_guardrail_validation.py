"""Guardrails, preflight and windowed thresholds that could never work are refused by
`banksim scenarios validate`, each with its path, and by `banksim incident` before
anything starts: run as a user runs them."""
import subprocess
import sys

import pytest

HEAD = ("name: guarded\nduration: 60s\nslo: {success: 0.99}\ntimeline:\n"
        "  - {at: 20s, phase: incident, chaos: {preset: bad-release}}\n")


def banksim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "banksim", *args], capture_output=True,
                          text=True, timeout=60)


def validate(tmp_path, body: str) -> subprocess.CompletedProcess:
    path = tmp_path / "guarded.yaml"
    path.write_text(HEAD + body)
    return banksim("scenarios", "validate", str(path))


def test_good_guardrails_and_a_windowed_threshold_validate(tmp_path):
    result = validate(tmp_path, "guardrails:\n"
                                "  - {when: alert, then: chaos_off}\n"
                                "  - {when: \"success_rate[window=30s]<0.8\", then: abort_run}\n"
                                "  - {when: \"p95_ms[app_version=4.2.*,window=10s]>2000\","
                                " then: chaos_off}\n"
                                "preflight: true\n"
                                "thresholds: [\"success_rate[phase=incident,window=15s]>=0.9\"]\n")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("body, line", [
    ("guardrails: [{when: alert, then: chaos_off, after: 5s}]",
     "guardrails[0].after: unknown key"),
    ("guardrails: [{when: alert, then: reboot}]",
     "guardrails[0].then: one of chaos_off, halt_rollout, abort_run"),
    ("guardrails: [{then: abort_run}]", "guardrails[0].when: Missing data for required field."),
    ("guardrails: [{when: \"success_rate<0.8\", then: abort_run}]",
     "guardrails[0].when: 'success_rate<0.8' needs a window"),
    ("guardrails: [{when: \"success_rate[window=soon]<0.8\", then: abort_run}]",
     "guardrails[0].when: threshold 'success_rate[window=soon]<0.8': window 'soon'"),
    ("guardrails: [{when: \"time_to_detect_s[window=5s]<3\", then: abort_run}]",
     "guardrails[0].when: threshold 'time_to_detect_s[window=5s]<3': unknown metric"),
    ("guardrails: [{when: aleart, then: abort_run}]", "guardrails[0].when: threshold 'aleart'"),
    ("guardrails: [{when: \"success_rate[window=2m]<0.8\", then: abort_run}]",
     "guardrails[0].when: a window of 120 s is longer than the run's 60 s"),
    ("thresholds: [\"success_rate[window=61s]>=0.9\"]",
     "thresholds[0]: a window of 61 s is longer than the run's 60 s"),
    ("guardrails: [{when: latency_alert, then: chaos_off}]",
     "guardrails[0].when: latency_alert needs a latency SLO (slo.p95_ms)"),
    ("guardrails: [{when: alert, then: halt_rollout}]",
     "guardrails[0].then: halt_rollout halts the release the step that starts `incident`"),
    ("preflight: yes", "preflight: use true or false"),
    ("guardrails: [" + ", ".join(["{when: alert, then: chaos_off}"] * 21) + "]",
     "guardrails: at most 20 guardrails"),
    ("guardrails: [{when: \"success_rate[window=0.2s]<0.8\", then: abort_run}]",
     "guardrails[0].when: threshold 'success_rate[window=0.2s]<0.8': window '0.2s': "
     "a window lasts from 1 s to a day"),
])
def test_validate_names_the_path_of_a_bad_guardrail(tmp_path, body, line):
    result = validate(tmp_path, body + "\n")
    assert result.returncode == 1, result.stdout + result.stderr
    assert any(row.startswith(line) for row in result.stdout.splitlines()), result.stdout


def test_preflight_needs_a_baseline_before_the_first_fault(tmp_path):
    path = tmp_path / "at-once.yaml"
    path.write_text("name: at-once\ntimeline:\n  - {at: 0s, chaos: {preset: bad-release}}\n"
                    "preflight: true\n")
    result = banksim("scenarios", "validate", str(path))
    assert result.returncode == 1
    assert result.stdout.startswith("preflight: the first chaos step is at 0 s")


def test_preflight_needs_its_steady_state_before_the_first_fault(tmp_path):
    """It judges the journeys that start once every phone has arrived: chaos before then
    would leave it nothing to judge, and the run would go ahead unchecked."""
    path = tmp_path / "early.yaml"
    path.write_text("name: early\nduration: 40s\narrivals: {over: 6s}\npreflight: true\n"
                    "timeline:\n  - {at: 2s, phase: incident, chaos: {preset: bad-release}}\n")
    result = banksim("scenarios", "validate", str(path))
    assert result.returncode == 1
    assert "before the phones have all arrived (6 s, arrivals.over)" in result.stdout
    path.write_text(path.read_text().replace("at: 2s", "at: 10s"))
    assert banksim("scenarios", "validate", str(path)).returncode == 0


def test_incident_refuses_a_bad_guardrail_or_window_before_anything_starts(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + "guardrails: [{when: alert, then: explode}]\n")
    out = tmp_path / "out"
    result = banksim("incident", "--scenario", str(path), "--out", str(out))
    assert result.returncode == 2 and "guardrails[0].then" in result.stderr
    result = banksim("incident", "--duration", "30s", "--out", str(out),
                     "--threshold", "success_rate[window=45s]>=0.9")
    assert result.returncode == 2
    assert "a window of 45 s is longer than the run's 30 s" in " ".join(result.stderr.split())
    assert not out.exists()  # no seed, no server, no report directory
