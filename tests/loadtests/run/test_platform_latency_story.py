"""A release that hurts by latency, on one platform only, run as a user would: a scenario
file of their own (`banksim incident --scenario FILE`), then report.json and report.html.

Nothing fails in this story: iOS 4.3.0's answers are slow, Android's are not. The report
must still name 4.3.0 as the bad version, count its users as affected, and show the
platforms apart.
"""
import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.story]

SCENARIO = """\
name: ios-slow-release
description: iOS 4.3.0 renders every screen slowly; Android is fine
duration: 30s
users: 8
think: 0.5-1.5
arrivals: {over: 0s}
slo: {success: 0.99, p95_ms: 2000}
platforms: {ios: 0.5, android: 0.5}
timeline:
  - at: 30%
    phase: incident
    release: {version: "4.3.0", platform: ios, adoption: 1}
    chaos:
      rules:
        - name: slow-ios-430
          match: {app_version: "==4.3.0", platform: [ios]}
          fault: {type: latency, ms: 1200}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ios-slow")
    (tmp / "ios-slow.yaml").write_text(SCENARIO)
    out = tmp / "run"
    result = subprocess.run([sys.executable, "-m", "banksim", "incident", "--scenario",
                             str(tmp / "ios-slow.yaml"), "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stdout[-3000:] + result.stderr[-3000:]
    return out, json.loads((out / "report.json").read_text()), result.stdout


def test_a_release_over_the_latency_slo_is_the_bad_version_and_hurts_its_users(run):
    _, report, stdout = run
    incident = report["incident"]
    assert incident["bad_versions"] == ["4.3.0"], report["headline"]
    latency = next(c for c in incident["slo_checks"]
                   if c["app_version"] == "4.3.0" and c["objective"] == "latency")
    assert latency["breached"] and latency["value"] > 2000 and latency["limit"] == 2000
    on_430 = next(r for r in report["versions"] if r["app_version"] == "4.3.0")
    assert incident["users_affected"] >= on_430["users_slowed"] == on_430["users"] > 0
    assert report["headline"].startswith("4.3.0 shipped at 9 s; ")
    assert "slower than the latency SLO of 2 s" in report["headline"]
    assert "no version fell below" not in report["headline"]
    said = " ".join(stdout.split())
    assert "SLO: 99.0 % of journeys succeed, p95 within 2000 ms" in said
    assert report["headline"] in said


def test_versions_by_platform_show_where_the_harm_lives(run):
    out, report, _ = run
    rows = {(r["app_version"], r["platform"]): r for r in report["platforms"]}
    assert ("4.3.0", "android") not in rows  # the release was for iOS only
    assert rows[("4.3.0", "ios")]["p95_ms"] > 2000
    android = [r for (_, platform), r in rows.items() if platform == "android"]
    assert android and all(r["p95_ms"] < 2000 and r["users_affected"] == 0 for r in android)
    page = (out / "report.html").read_text()
    assert "latency SLO p95 &le; 2 s" in page.split("<img", 1)[0]
    table = page.split("<h2>App versions by platform</h2>", 1)[1].split("</table>", 1)[0]
    assert "<td>4.3.0</td><td>ios</td>" in table and "<td>android</td>" in table
