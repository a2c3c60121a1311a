"""`banksim scenarios`, `show` and `validate`, run as a user runs them, and the example
of docs/scenarios.md, which someone who never read the code copies."""
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def banksim(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "banksim", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd)


def test_scenarios_lists_every_built_in_with_its_duration_and_users():
    result = banksim("scenarios")
    assert result.returncode == 0, result.stderr
    for name in ("bad-release", "android-sdk-crash", "payments-outage", "slow-backend",
                 "staged-rollout"):
        assert name in result.stdout
    assert "180 s" in result.stdout and "60" in result.stdout


def test_show_prints_the_yaml_of_a_built_in():
    result = banksim("scenarios", "show", "bad-release")
    assert result.returncode == 0
    assert yaml.safe_load(result.stdout)["timeline"][0]["release"]["version"] == "4.2.0"
    unknown = banksim("scenarios", "show", "nope")
    assert unknown.returncode == 2 and "staged-rollout" in unknown.stderr


def test_validate_accepts_a_good_file_and_lists_every_problem_of_a_bad_one(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("name: mine\ntimeline:\n  - {at: 50%, phase: incident, "
                    "chaos: {preset: flaky-network}}\n")
    result = banksim("scenarios", "validate", str(good))
    assert result.returncode == 0 and "ok" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: mine\nduration: 60s\nspeed: 3\ntimeline:\n"
                   "  - {at: 90s, phase: incident}\n"
                   "  - {at: 10s, release: {version: not-a-version}}\n")
    result = banksim("scenarios", "validate", str(bad))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "speed: unknown key",
        "timeline[0].at: 90 s is past the run's duration of 60 s",
        "timeline[1].at: steps must be in time order",
        "timeline[1].release.version: not a PEP 440 version: 'not-a-version'"]


def test_a_bad_scenario_is_refused_before_anything_starts(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: mine\ntimeline:\n  - {at: 50%, release: {version: 4.x}}\n")
    result = banksim("incident", "--scenario", str(bad), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "timeline[0].release.version" in result.stderr
    assert not (tmp_path / "out").exists()  # no seed, no server, no report directory
    unknown = banksim("incident", "--scenario", "nope")
    assert unknown.returncode == 2 and "android-sdk-crash" in unknown.stderr


def test_the_documented_example_validates(tmp_path):
    doc = (ROOT / "docs" / "scenarios.md").read_text()
    example = re.search(r"<!-- example -->\s*```yaml\n(.*?)```", doc, re.S).group(1)
    path = tmp_path / "checkout-bug.yaml"
    path.write_text(example)
    result = banksim("scenarios", "validate", str(path))
    assert result.returncode == 0, result.stdout


NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve").split()


def test_the_scenarios_page_counts_links_and_describes_every_built_in():
    from loadtests.scenario import builtin_names
    page = (ROOT / "docs" / "scenarios.md").read_text()
    names = builtin_names()
    assert f"banksim ships {NUMBERS[len(names)]}," in " ".join(page.split())
    contents = next(line for line in page.split("\n\n") if line.startswith("Contents:"))
    assert sorted(re.findall(r"\(#([a-z0-9-]+)\)", contents)) == sorted(
        ["write-one", "the-file-format", *names])
    assert sorted(re.findall(r"^## ([a-z0-9-]+)$", page, re.M)) == sorted(names)


def test_a_near_miss_of_a_built_in_s_name_suggests_it(tmp_path):
    for args in (["incident", "--scenario", "bad-relase"],
                 ["compare", "--scenario", "Bad-Release", "--vary", "users=5,6"],
                 ["scenarios", "show", "bad_release"],
                 ["scenarios", "validate", "bad-relese"]):
        result = banksim(*args, cwd=tmp_path)
        assert result.returncode in (1, 2), result.stdout + result.stderr
        assert "did you mean bad-release?" in result.stdout + result.stderr, args
    assert list(tmp_path.iterdir()) == []  # nothing was run or written
