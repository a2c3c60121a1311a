import json
import re

import pytest

from tests.helpers.journey_streams import make_stream, slow_release
from loadtests.report import build_report, write_report

SPEC_KEYS = {"scenario", "seed", "users", "duration_s", "client_policy", "phases", "journeys",
             "versions", "timeline", "incident", "integrity", "thresholds"}
ROW_KEYS = {
    "phases": {"name", "start_s", "end_s"},
    "journeys": {"journey", "app_version", "phase", "attempts", "succeeded", "failed",
                 "retries", "requests", "p50_ms", "p95_ms", "p99_ms"},
    "versions": {"app_version", "users", "journeys", "success_rate"},
    "timeline": {"t_s", "app_version", "attempts", "failed"},
    "thresholds": {"name", "limit", "value", "passed"},
}
INCIDENT_KEYS = {"detected_at_s", "time_to_detect_s", "recovered_at_s", "time_to_recover_s",
                 "users_affected", "users_affected_pct"}
INTEGRITY_KEYS = {"ok", "ledger_balanced", "negative_balances", "duplicate_transfers",
                  "lost_acknowledged_transfers"}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One incident report, written once for every test in this module (charts are slow)."""
    stream = make_stream(users=30, duration_s=90)
    integrity = {"ok": True, "ledger_balanced": True, "negative_balances": 0,
                 "duplicate_transfers": 0, "lost_acknowledged_transfers": 0}
    report = build_report(stream.events, stream.phases, stream.meta(), integrity,
                          ["success_rate[app_version=4.2.*]>=0.99", "time_to_detect_s<=30"])
    out = tmp_path_factory.mktemp("report")
    return report, write_report(report, out)


def test_report_has_every_spec_key_and_is_json(written):
    report, paths = written
    assert json.loads(paths["json"].read_text()) == json.loads(json.dumps(report))
    assert SPEC_KEYS <= report.keys()
    for block, keys in ROW_KEYS.items():
        assert report[block], block
        assert all(keys <= row.keys() for row in report[block]), block
    assert INCIDENT_KEYS <= report["incident"].keys()
    assert INTEGRITY_KEYS <= report["integrity"].keys()
    assert [p["name"] for p in report["phases"]] == ["baseline", "incident", "recovery"]


def test_report_tells_the_incident(written):
    report, _ = written
    incident = report["incident"]
    assert incident["time_to_detect_s"] == \
        pytest.approx(incident["detected_at_s"] - incident["incident_started_at_s"])
    assert incident["time_to_recover_s"] == \
        pytest.approx(incident["recovered_at_s"] - incident["hotfix_shipped_at_s"])
    assert 0 < incident["users_affected"] < report["users"]
    assert [t["passed"] for t in report["thresholds"]] == [False, True]


def test_html_opens_offline_and_embeds_every_chart(written):
    _, paths = written
    page = paths["html"].read_text()
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "<link" not in page
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) == 4
    assert "How to read this" in page
    assert "success_rate[app_version=4.2.*]&gt;=0.99" in page  # escaped, not raw markup
    assert 'class="fail">FAIL' in page and 'class="pass">PASS' in page


def test_main_chart_png_is_written_for_the_readme(written):
    _, paths = written
    assert paths["png"].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_an_empty_run_still_writes_a_report(tmp_path):
    report = build_report([], [], {"scenario": "none", "duration_s": 30}, {}, ["success_rate>0"])
    paths = write_report(report, tmp_path)
    assert report["incident"]["detected_at_s"] is None
    assert report["thresholds"][0]["passed"] is False
    assert paths["html"].read_text().count("data:image/png;base64,") == 4


@pytest.mark.parametrize("journeys", [1, 4, 5])
def test_latency_chart_draws_any_number_of_journeys(journeys):
    """Three panels a row: the last row is partly empty unless the count divides by 3."""
    from loadtests.report.charts import latency_percentiles
    rows = [{"journey": f"journey{n}", "app_version": "4.1.3", "p50_ms": 100.0,
             "p95_ms": 200.0, "p99_ms": 300.0} for n in range(journeys)]
    assert latency_percentiles({"latency": rows}).startswith(b"\x89PNG")


def test_html_opens_with_the_headline_and_rounded_times(tmp_path):
    stream = make_stream(users=20, duration_s=179.594)
    report = build_report(stream.events, stream.phases, stream.meta(), {"ok": True}, [])
    page = write_report(report, tmp_path)["html"].read_text()
    top = page.split("<img", 1)[0]
    assert report["headline"].startswith("4.2.0 shipped at 45 s; ")
    assert f'<p class="headline">{report["headline"]}</p>' in top
    assert "PASS</span>\n ledger intact, no thresholds set" in top
    assert "incident 45&ndash;108 s, recovery 108&ndash;180 s" in top
    assert "179.594" not in page and "44.898" not in page


def test_html_shows_the_latency_slo_the_slo_checks_and_versions_by_platform(tmp_path):
    s = slow_release()
    report = build_report(s.events, s.phases, s.meta(incident_versions=["4.3.0"]), {"ok": True},
                          [], p95_ms=2000)
    page = write_report(report, tmp_path)["html"].read_text()
    top = page.split("<img", 1)[0]
    assert "SLO 99.0 % of journeys succeed, latency SLO p95 &le; 2 s" in top  # parameter line
    assert "4.3.0 shipped at 30 s; 10 of its 10 users" in top
    assert "PARTIAL" not in page
    platforms = page.split("<h2>App versions by platform</h2>", 1)[1].split("</table>", 1)[0]
    assert "<tr><td>4.3.0</td><td>ios</td><td>10</td>" in platforms
    assert "<tr><td>4.2.2</td><td>android</td><td>10</td>" in platforms
    assert "<td>4.3.0</td><td>latency</td>" in page and 'class="fail">breached' in page
    assert "users with a journey over the latency SLO</td><td>10</td>" in page


def test_html_of_a_partial_run_opens_with_a_banner(tmp_path):
    s = make_stream(users=10, duration_s=60)
    report = build_report(s.events, s.phases, s.meta(stopped_by="SIGTERM"), {"ok": True}, [])
    top = write_report(report, tmp_path)["html"].read_text().split("<img", 1)[0]
    assert "<h1>banksim: bad-release (partial run)</h1>" in top
    assert '<p class="partial"><b>PARTIAL RUN.</b> This run was stopped by SIGTERM' in top
    assert 'class="verdict fail">FAIL' in top
