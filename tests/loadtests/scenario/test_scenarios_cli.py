"""`banksim scenarios`, `show` and `validate`, run as a user runs them, and the example
of docs/scenarios.md, which someone who never read the code copies."""
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


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


STEP = "  - {at: 50%, phase: incident}\n"


def refused(tmp_path, text: str, *args: str) -> list[str]:
    """`banksim scenarios validate` on a file holding `text`: its lines, after checking
    that it said no cleanly (exit 1, no traceback)."""
    path = tmp_path / "mine.yaml"
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    result = banksim("scenarios", "validate", str(path), *args)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr and result.stderr == "", result.stderr[-2000:]
    return result.stdout.splitlines()


def rule(**fields) -> str:
    return ("name: mine\ntimeline:\n  - at: 50%\n    phase: incident\n    chaos:\n"
            "      rules:\n        - " + yaml.safe_dump(fields, default_flow_style=True))


def test_validate_checks_chaos_rules_as_the_bank_does(tmp_path):
    assert refused(tmp_path, rule(name="slow", fault={"type": "latency", "millis": 2000})) == [
        "timeline[0].chaos.rules[0].fault.millis: unknown key"]
    assert refused(tmp_path, rule(name="teapot", fault={"type": "error", "status": 418})) == [
        "timeline[0].chaos.rules[0].fault.status: Must be one of: 429, 500, 502, 503, 504."]
    lines = refused(tmp_path, rule(name="all", match={"cohort_percent": 130},
                                   fault={"type": "reset"}))
    assert lines == ["timeline[0].chaos.rules[0].match.cohort_percent: Must be greater than "
                     "or equal to 0 and less than or equal to 100."]
    lines = refused(tmp_path, rule(name="late", match={"paths": "/x"},
                                   fault={"type": "db_error", "kind": "operational"}))
    assert lines == ["timeline[0].chaos.rules[0].match.paths: unknown key"]
    assert refused(tmp_path, rule(name="late", phase="after", fault={
        "type": "db_error", "kind": "operational"})) == [
        "timeline[0].chaos.rules[0].phase: a database fault acts while the request runs; "
        "its phase is before"]


def test_validate_refuses_a_file_nested_thousands_of_levels_deep(tmp_path):
    for text in ("name: x\ntimeline: " + "[" * 5000 + "]" * 5000 + "\n",
                 "name: x\ntimeline:\n" + "".join(" " * i + "- \n" for i in range(1, 1000)),
                 "name: x\ntimeline:\n" + "".join("  " * i + "k:\n" for i in range(1, 200))):
        [line] = refused(tmp_path, text)
        assert "nest" in line, line
    deep = tmp_path / "mine.yaml"  # `incident` reads it the same way: a usage error
    result = banksim("incident", "--scenario", str(deep), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "nested deeper than 32 levels" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


LAUGHS = """name: laughs
timeline:
  - at: 50%
    phase: incident
    chaos:
      rules:
        - name: lol
          fault: {type: reset}
          match:
            users: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
            b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
            c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
            d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
            e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
            f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
            g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
            h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
            i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_validate_refuses_aliases_that_expand_but_keeps_ones_that_share(tmp_path):
    [line] = refused(tmp_path, LAUGHS)
    assert line.startswith("refused: line 14: over 50,000 values or 2,000,000 characters")
    [line] = refused(tmp_path, "name: x\ntimeline: &t\n  - *t\n")
    assert "inside its own anchor" in line
    shared = tmp_path / "shared.yaml"
    shared.write_text("name: shared\nx-match: &ios {platform: [ios]}\ntimeline:\n"
                      "  - at: 50%\n    phase: incident\n    chaos:\n      rules:\n"
                      "        - {name: a, match: *ios, fault: {type: reset}}\n"
                      "        - {name: b, match: {<<: *ios, path: /x}, fault: {type: reset}}\n")
    result = banksim("scenarios", "validate", str(shared))
    assert result.stdout.splitlines() == ["x-match: unknown key"]  # aliases themselves pass
    shared.write_text(shared.read_text().replace("x-match: &ios {platform: [ios]}\n", "")
                      .replace("match: *ios", "match: &ios {platform: [ios]}"))
    assert banksim("scenarios", "validate", str(shared)).returncode == 0


@pytest.mark.parametrize("think", [".inf", ".nan", "-5", "-.inf", "true", "1-.inf"])
def test_validate_refuses_a_think_time_that_is_not_a_finite_number_of_seconds(tmp_path, think):
    [line] = refused(tmp_path, f"name: x\nthink: {think}\ntimeline:\n{STEP}")
    assert line.startswith("think: ")


@pytest.mark.parametrize("line, expected", [
    ("name: !!binary aGVsbG8=", "!!binary is not allowed here"),
    ("description: !!timestamp 2026-01-01", "!!timestamp is not allowed here"),
    ("description: !!set {a, b}", "!!set is not allowed here"),
    ("description: 2026-01-01", None),  # a date-like value stays text
    ("halt_on_alert: 'no'", "halt_on_alert: use true or false"),
    ("users: 12.0", "users: Not a valid integer."),
    ("slo: {success: '0.99'}", "slo.success: not a number"),
    ("slo: {success: .nan}", "slo.success: Special numeric values (nan or infinity) are "
                             "not permitted."),
    ("platforms: {ios: true}", "platforms.ios: not a number"),
])
def test_validate_accepts_only_values_the_run_and_its_report_can_use(tmp_path, line, expected):
    text = f"{line}\ntimeline:\n{STEP}" if line.startswith("name") else \
        f"name: x\n{line}\ntimeline:\n{STEP}"
    if expected is None:
        result = banksim("scenarios", "validate", str(_write(tmp_path, text)))
        assert result.returncode == 0, result.stdout
        return
    lines = refused(tmp_path, text)
    assert any(expected in found for found in lines), lines


def _write(tmp_path, text: str):
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    return path


def test_validate_bounds_the_file_and_what_it_prints(tmp_path):
    head = f"name: x\ntimeline:\n{STEP}thresholds:\n"
    started = time.monotonic()
    [line] = refused(tmp_path, head + "  - 'nope['\n" * 700_000)  # 10.5 MB
    assert line == "refused: the file is over 1,000,000 bytes"
    assert time.monotonic() - started < 30  # the file is never parsed (46 s before)
    [line] = refused(tmp_path, head + "  - 'nope['\n" * 60_000)  # 600 KB, 60,000 values
    assert line.startswith("refused: line 49993: over 50,000 values")
    lines = refused(tmp_path, head + f"  - '{'x' * 5000}['\n" + "  - 'nope['\n" * 20_000)
    assert len(lines) == 51 and lines[-1] == ("... and 19951 more problems "
                                              "(the first 50 are shown)")
    assert len(lines[0]) <= 300 and lines[0].endswith("…")


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
