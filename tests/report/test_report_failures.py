"""The failure breakdown: failed journeys per journey, platform, version, network and how
they failed; success per platform and network; its line in the terminal summary."""
from loadtests.report.failures import failure_line, failure_rows, network_rows
from loadtests.report.events import coerce_events


def journey(ok, platform="android", network="cellular", failure=None, name="app_open"):
    return {"t_s": 1.0, "user": "u@example.com", "journey": name, "app_version": "4.2.0",
            "platform": platform, "phase": "incident", "ok": ok, "duration_ms": 10.0,
            "retries": 0, "requests": 1, "error": None if ok else "x", "network": network,
            "failure": failure}


EVENTS = coerce_events([
    journey(False, failure="reset_before_answer"), journey(False, failure="reset_before_answer"),
    journey(False, failure="timeout_mid_body", name="view_transactions"),
    journey(True), journey(True, network="wifi"), journey(True, platform="ios"),
])


def test_failure_rows_group_failed_journeys_most_first():
    assert failure_rows(EVENTS) == [
        {"journey": "app_open", "platform": "android", "app_version": "4.2.0",
         "network": "cellular", "failure": "reset_before_answer", "journeys": 2},
        {"journey": "view_transactions", "platform": "android", "app_version": "4.2.0",
         "network": "cellular", "failure": "timeout_mid_body", "journeys": 1}]


def test_network_rows_split_success_by_platform_and_network():
    rows = {(r["platform"], r["network"]): (r["journeys"], r["failed"], r["success"])
            for r in network_rows(EVENTS)}
    assert rows == {("android", "cellular"): (4, 3, 0.25), ("android", "wifi"): (1, 0, 1.0),
                    ("ios", "cellular"): (1, 0, 1.0)}


def test_the_summary_line_says_how_and_where_journeys_failed():
    line = failure_line({"failures": failure_rows(EVENTS)})
    assert line == ("failed journeys by how: reset_before_answer 2, timeout_mid_body 1; "
                    "by network: cellular 3")


def test_runs_whose_phones_said_nothing_get_no_line():
    old = coerce_events([{k: v for k, v in journey(False).items()
                          if k not in ("network", "failure")}])
    assert failure_rows(old)[0]["failure"] == "unknown"
    assert failure_line({"failures": failure_rows(old)}) is None
