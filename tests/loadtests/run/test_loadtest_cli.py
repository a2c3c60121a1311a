"""`banksim loadtest --help` and the incident's option errors, run as a user runs them."""
import subprocess
import sys

BANKSIM = [sys.executable, "-m", "banksim"]


def run(*args):
    return subprocess.run([*BANKSIM, *args], capture_output=True, text=True, timeout=120)


def test_loadtest_help_shows_banksims_options_then_locusts():
    result = run("loadtest", "--help")
    assert result.returncode == 0, result.stderr
    ours, _, locusts = result.stdout.partition("Locust's own options follow.")
    assert "Usage: banksim loadtest" in ours and "locustfile.py" in ours
    for option in ("--client-policy", "--scenario", "--seed", "--seeded-users",
                   "--admin-token", "--journeys-out", "BANKSIM_ADMIN_TOKEN"):
        assert option in ours, option
    assert "--headless" in locusts and "--users" in locusts


def test_loadtest_passes_other_arguments_to_locust():
    result = run("loadtest", "--version")
    assert result.returncode == 0 and "locust" in (result.stdout + result.stderr).lower()


def test_a_bad_duration_names_the_option():
    for value in ("soon", "2h"):
        result = run("incident", "--duration", value)
        assert result.returncode == 2
        assert "'--duration'" in result.stderr, result.stderr
