"""The report's `alerts` block (what Prometheus fired, from alerts.json) and the
`alert[NAME]<=60s` threshold that reads it."""
import pytest

from loadtests.report import build_report, print_summary
from loadtests.report.alerts import alert_entries, alert_lines
from loadtests.report.html import render_html
from loadtests.report.thresholds import parse_threshold

INCIDENT = {"incident_started_at_s": 30.0, "detected_at_s": 40.0}
RAW = {"ended_at_s": 120.0,
       "rules": [{"name": "BankVersionErrorBudgetBurn", "labels": {"severity": "page"}},
                 {"name": "BankLatencyBudgetBurn", "labels": {"severity": "page"}},
                 {"name": "ChaosEnabled", "labels": {"severity": "ticket"}}],
       "firing": [
           {"name": "BankVersionErrorBudgetBurn",
            "labels": {"app_version": "4.2.0", "severity": "page"},
            "intervals": [[38.0, 70.0], [75.0, None]]},
           # fired before the incident and was still firing when it started
           {"name": "ChaosEnabled", "labels": {"severity": "ticket"},
            "intervals": [[10.0, 50.0]]}]}


def by_name(entries: list[dict]) -> dict:
    return {(e["name"], e["labels"].get("app_version")): e for e in entries}


def test_each_firing_label_set_is_an_entry_with_its_times():
    entries = by_name(alert_entries(RAW, INCIDENT))
    burn = entries["BankVersionErrorBudgetBurn", "4.2.0"]
    assert burn == {"name": "BankVersionErrorBudgetBurn",
                    "labels": {"app_version": "4.2.0", "severity": "page"}, "fired": True,
                    "first_fired_at_s": 38.0, "since_incident_s": 8.0,
                    "since_detector_s": -2.0, "resolved_at_s": None,
                    "firing_s": 32.0 + 45.0}
    chaos = entries["ChaosEnabled", None]
    assert (chaos["since_incident_s"], chaos["resolved_at_s"]) == (0.0, 50.0)


def test_a_rule_that_never_fired_is_listed_as_such():
    never = by_name(alert_entries(RAW, INCIDENT))["BankLatencyBudgetBurn", None]
    assert never["fired"] is False and never["first_fired_at_s"] is None
    assert never["labels"] == {"severity": "page"}


def test_no_prometheus_no_alerts():
    assert alert_entries(None, INCIDENT) == []


def test_an_alert_over_before_the_incident_has_no_time_since_it():
    raw = {"rules": [], "firing": [{"name": "A", "labels": {}, "intervals": [[1.0, 5.0]]}]}
    (entry,) = alert_entries(raw, INCIDENT)
    assert entry["fired"] and entry["since_incident_s"] is None


@pytest.mark.parametrize("text, value, passed", [
    ("alert[BankVersionErrorBudgetBurn]<=60s", 8.0, True),
    ("alert[BankVersionErrorBudgetBurn]<=5s", 8.0, False),
    ("alert[BankLatencyBudgetBurn]<=60s", None, False),  # never fired: fails
    ("alert[NoSuchRule]<=60", None, False),
])
def test_alert_thresholds_read_the_time_since_the_incident(incident_stream, text, value,
                                                           passed):
    s = incident_stream
    phases = [{**p, "start_s": 30.0} if p["name"] == "incident" else p for p in s.phases]
    report = build_report(s.events, phases, s.meta(alerts=RAW), {}, [text])
    (result,) = report["thresholds"]
    assert (result["value"], result["passed"]) == (value, passed)


def test_the_alert_threshold_is_its_own_form():
    threshold = parse_threshold(" alert[BankErrorBudgetBurn] <= 90s ")
    assert (threshold.metric, threshold.op, threshold.limit) == \
        ("alert[BankErrorBudgetBurn]", "<=", 90)
    for bad in ("alert[]<=60s", "alert[a-b]<=60s", "alert[X]<=1m", "alert[X,Y]<=60"):
        with pytest.raises(ValueError, match=r"alert\[NAME\]OP SECONDS"):
            parse_threshold(bad)


def test_summary_and_page_show_the_alerts(incident_stream, capsys):
    s = incident_stream
    report = build_report(s.events, s.phases, s.meta(alerts=RAW), {}, [])
    lines = alert_lines(report["alerts"])
    assert any(line.startswith("BankVersionErrorBudgetBurn{app_version=4.2.0}: fired at 38 s")
               for line in lines)
    assert "BankLatencyBudgetBurn: never fired" in lines
    print_summary(report)
    assert "prometheus alerts:" in capsys.readouterr().out
    page = render_html(report)
    assert 'id="prometheus-alerts"' in page and "still firing at the end" in page


def test_a_run_without_prometheus_shows_no_alert_section(incident_stream):
    s = incident_stream
    report = build_report(s.events, s.phases, s.meta(), {}, [])
    assert report["alerts"] == []
    assert 'id="prometheus-alerts"' not in render_html(report)
