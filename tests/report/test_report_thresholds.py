import pytest

from tests.helpers.journey_streams import event
from loadtests.report import build_report
from loadtests.report.events import coerce_events
from loadtests.report.thresholds import evaluate, parse_threshold

EVENTS = coerce_events([
    event(app_version="4.1.3", phase="incident", duration_ms=100),
    event(app_version="4.1.2", phase="incident", duration_ms=200, platform="android"),
    event(app_version="4.2.0", phase="incident", ok=False, duration_ms=3000, retries=3,
          requests=4),
    event(app_version="4.2.0", phase="recovery", duration_ms=300, retries=1, requests=2),
    event(app_version="4.2.1", phase="recovery", journey="app_open", duration_ms=150),
])


@pytest.mark.parametrize("text, metric, filters, op, limit", [
    ("success_rate[app_version=4.1.*,phase=incident]>=0.99", "success_rate",
     (("app_version", ("4.1.*",)), ("phase", ("incident",))), ">=", 0.99),
    ("p95_ms[journey=send_money]<2500", "p95_ms", (("journey", ("send_money",)),), "<", 2500),
    ("time_to_detect_s<=30", "time_to_detect_s", (), "<=", 30),
    ("lost_acknowledged_transfers==0", "lost_acknowledged_transfers", (), "==", 0),
    (" retries_per_journey [ phase = incident|recovery ] > 1e-1 ", "retries_per_journey",
     (("phase", ("incident", "recovery")),), ">", 0.1),
])
def test_parses_the_documented_forms(text, metric, filters, op, limit):
    threshold = parse_threshold(text)
    assert (threshold.metric, threshold.filters, threshold.op, threshold.limit) == \
        (metric, filters, op, limit)
    assert threshold.text == text.strip()


@pytest.mark.parametrize("text, reason", [
    ("", "is not METRIC"),
    ("success_rate", "is not METRIC"),
    ("success_rate>=", "is not METRIC"),
    ("success_rate=>0.9", "is not METRIC"),
    ("success_rate>=0.9 extra", "is not METRIC"),
    ("success_rate[app_version=4.2.0>=0.9", "is not METRIC"),
    ("success_rate>=abc", "not a number"),
    ("p95_ms<nan", "finite"),
    ("succes_rate>=0.9", "unknown metric 'succes_rate'"),
    ("success_rate[user=u1]>=0.9", "cannot filter on 'user'"),
    ("success_rate[app_version]>=0.9", "is not key=glob"),
    ("success_rate[phase=]>=0.9", "is not key=glob"),
    ("success_rate[phase=a,phase=b]>=0.9", "filtered twice"),
    ("time_to_detect_s[phase=incident]<=30", "takes no filter"),
])
def test_rejects_bad_syntax_with_a_reason(text, reason):
    with pytest.raises(ValueError, match=reason.replace("[", r"\[")):
        parse_threshold(text)


@pytest.mark.parametrize("text, value, passed", [
    ("success_rate[app_version=4.1.*]>=0.99", 1.0, True),
    ("success_rate[app_version=4.2.*,phase=incident]>=0.99", 0.0, False),
    ("success_rate[app_version=4.2.0]==0.5", 0.5, True),
    ("error_rate>0.1", 0.2, True),
    ("success_rate[platform=android]<1", 1.0, False),
    ("p50_ms[journey=send_money,app_version=4.1.*]<=150", 150.0, True),
    ("p99_ms[journey=send_money]<2500", 2919.0, False),  # 300 + 0.97 * 2700
    ("retries_per_journey[app_version=4.2.0]<=2", 2.0, True),
    ("requests_per_journey[phase=incident|recovery]<2", 1.8, True),
    ("journeys[phase=recovery]>=2", 2.0, True),
    ("failed_journeys==0", 1.0, False),
])
def test_evaluates_journey_metrics_over_matching_journeys(text, value, passed):
    [result] = evaluate([parse_threshold(text)], EVENTS, {})
    assert (result["name"], result["value"], result["passed"]) == \
        (text, pytest.approx(value), passed)


def test_limit_is_the_operator_and_the_number():
    [result] = evaluate([parse_threshold("success_rate>=0.990")], EVENTS, {})
    assert result["limit"] == ">= 0.99"


@pytest.mark.parametrize("text", ["success_rate[app_version=9.*]>=0",
                                  "p95_ms[journey=nope]<1e9", "time_to_detect_s<=30"])
def test_nothing_to_measure_fails(text):
    [result] = evaluate([parse_threshold(text)], EVENTS, {"time_to_detect_s": None})
    assert result["value"] is None
    assert result["passed"] is False


@pytest.mark.parametrize("text, scalars, value, passed", [
    ("time_to_detect_s<=30", {"time_to_detect_s": 12.5}, 12.5, True),
    ("lost_acknowledged_transfers==0", {"lost_acknowledged_transfers": 0}, 0, True),
    ("ledger_balanced==1", {"ledger_balanced": False}, 0, False),
    ("negative_balances==0", {"negative_balances": ["acc_1", "acc_2"]}, 2, False),
])
def test_evaluates_run_metrics_from_the_report(text, scalars, value, passed):
    [result] = evaluate([parse_threshold(text)], EVENTS, scalars)
    assert (result["value"], result["passed"]) == (value, passed)


def test_build_report_evaluates_thresholds_against_its_own_blocks(incident_stream, integrity):
    s = incident_stream
    report = build_report(s.events, s.phases, s.meta(), integrity, [
        "success_rate[app_version=4.2.0,phase=incident]>=0.99", "time_to_detect_s<=15",
        "lost_acknowledged_transfers==0", "acknowledged_transfers>=1"])
    assert [t["passed"] for t in report["thresholds"]] == [False, True, True, True]
    assert report["thresholds"][1]["value"] == report["incident"]["time_to_detect_s"]


def test_build_report_rejects_a_bad_threshold(incident_stream):
    s = incident_stream
    with pytest.raises(ValueError, match="unknown metric"):
        build_report(s.events, s.phases, s.meta(), {}, ["sucess_rate>=0.9"])
