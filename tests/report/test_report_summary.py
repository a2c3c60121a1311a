import re

from rich.console import Console

from tests.helpers.journey_streams import make_stream, slow_release

from loadtests.report import build_report, print_summary, verdict


def summary_text(report) -> str:
    console = Console(record=True, width=140, color_system=None)
    print_summary(report, console=console)
    return console.export_text()


def test_summary_shows_versions_timings_thresholds_and_verdict(incident_stream, integrity):
    s = incident_stream
    report = build_report(s.events, s.phases, s.meta(), integrity,
                          ["success_rate[app_version=4.2.0,phase=incident]>=0.99"])
    text = summary_text(report)
    for version in ("4.1.2", "4.1.3", "4.2.0", "4.2.1"):
        assert version in text
    assert f"time to detect {report['incident']['time_to_detect_s']:g} s" in text
    assert "success_rate[app_version=4.2.0,phase=incident]>=0.99" in text  # not eaten as markup
    assert text.rstrip().splitlines()[-1].startswith("FAIL: 1 threshold failed")


def test_summary_opens_with_the_headline_and_the_verdict(incident_stream, integrity):
    s = incident_stream
    report = build_report(s.events, s.phases, s.meta(), integrity, [])
    lines = summary_text(report).splitlines()
    opening = " ".join(line.strip() for line in lines[1:6])
    assert opening.startswith(report["headline"])
    assert report["headline"].startswith("4.2.0 shipped at 30 s; ")
    assert "PASS: ledger intact, no thresholds set" in opening


def test_summary_passes_a_healthy_run(healthy_stream, integrity):
    s = healthy_stream
    report = build_report(s.events, s.phases, s.meta(), integrity, ["success_rate>=0.99"])
    assert "PASS: ledger intact, 1 threshold met" in summary_text(report)


def test_no_thresholds_reads_as_none_set_not_as_zero_met(healthy_stream, integrity):
    s = healthy_stream
    assert verdict(build_report(s.events, s.phases, s.meta(), integrity, [])) == \
        (True, ["ledger intact, no thresholds set"])
    assert verdict(build_report(s.events, s.phases, s.meta(), {}, [])) == \
        (True, ["no thresholds set (no integrity check)"])


def test_summary_rounds_times(integrity):
    s = make_stream(duration_s=179.594)
    text = summary_text(build_report(s.events, s.phases, s.meta(), integrity, []))
    assert "phases: baseline 0–45 s, incident 45–108 s, recovery 108–180 s" in text
    assert "· 180 s ·" in text
    assert not re.search(r"\d\.\d\d+ s", text)  # no 179.594 s, no 15.102 s


def test_verdict_fails_on_broken_integrity_even_without_thresholds(healthy_stream, integrity):
    s = healthy_stream
    broken = {**integrity, "ok": False, "lost_acknowledged_transfers": 2}
    passed, reasons = verdict(build_report(s.events, s.phases, s.meta(), broken, []))
    assert not passed
    assert reasons == ["integrity check failed (lost_acknowledged_transfers)"]


def test_a_partial_run_never_passes_and_says_so_first(healthy_stream, integrity):
    s = healthy_stream
    report = build_report(s.events, s.phases, s.meta(stopped_by="SIGINT", duration_s=80),
                          integrity, ["success_rate>=0.5"])
    assert report["partial"] is True and report["stopped_by"] == "SIGINT"
    passed, reasons = verdict(report)
    assert not passed and reasons[0] == "partial run (stopped by SIGINT after 80 s)"
    lines = summary_text(report).splitlines()
    assert lines[1].strip().startswith("PARTIAL RUN  This run was stopped by SIGINT after 80 s")
    assert lines[-1].startswith("FAIL: partial run (stopped by SIGINT after 80 s)")
    assert "PASS:" not in summary_text(report)


def test_a_finished_run_is_not_partial(healthy_stream, integrity):
    s = healthy_stream
    report = build_report(s.events, s.phases, s.meta(), integrity, [])
    assert report["partial"] is False and report["stopped_by"] is None
    assert verdict(report)[0]


def test_summary_names_the_latency_slo_and_the_slowed_users(integrity):
    s = slow_release()
    text = summary_text(build_report(s.events, s.phases, s.meta(), integrity, [], p95_ms=2000))
    assert "SLO: 99.0 % of journeys succeed, p95 within 2000 ms" in text
    unwrapped = " ".join(text.split())
    assert "users affected 10 (50%), 10 with journeys over the latency SLO" in unwrapped
