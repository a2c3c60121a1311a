"""The web UI's journey board: Locust's JOURNEY stats turned into rows per app version.
Plain data in, no Locust."""
import pytest

from loadtests.phone.journey_board import RECENT_WINDOW_S, StatsRow, board, version_key

NOW = 1_000_000.5


def journey(name, attempts, failed, per_sec=None, fail_per_sec=None):
    return StatsRow("JOURNEY", name, attempts, failed, per_sec or {}, fail_per_sec or {})


def by_version(result):
    return {row["app_version"]: row for row in result["versions"]}


def test_versions_sum_their_journeys_and_other_requests_are_left_out():
    rows = by_version(board([
        journey("send_money 4.1.3", 40, 0), journey("app_open 4.1.3", 60, 1),
        journey("send_money 4.2.0", 30, 12), journey("app_open 4.2.0", 20, 8),
        StatsRow("GET", "/accounts", 500, 50), StatsRow("POST", "/transfers 4.2.0", 9, 9),
    ], now=NOW))
    assert rows == {
        "4.1.3": {"app_version": "4.1.3", "journeys": 100, "failed": 1, "success_pct": 99.0,
                  "recent_journeys": 0, "recent_success_pct": None},
        "4.2.0": {"app_version": "4.2.0", "journeys": 50, "failed": 20, "success_pct": 60.0,
                  "recent_journeys": 0, "recent_success_pct": None},
    }


def test_rows_follow_pep440_order_not_text_order():
    names = ["4.10.0", "4.2.0", "4.1.3", "4.2.1", "4.0.2", "4.2.0rc1"]
    result = board([journey(f"app_open {v}", 1, 0) for v in names], now=NOW)
    assert [row["app_version"] for row in result["versions"]] == \
        ["4.0.2", "4.1.3", "4.2.0rc1", "4.2.0", "4.2.1", "4.10.0"]


def test_a_name_that_is_no_version_sorts_last_instead_of_failing():
    result = board([journey("app_open unknown", 1, 0), journey("app_open 4.1.3", 1, 0)],
                   now=NOW)
    assert [row["app_version"] for row in result["versions"]] == ["4.1.3", "unknown"]
    assert version_key("4.1") < version_key("4.1.0") < version_key("garbage")


def test_recent_success_counts_only_the_window_so_a_bad_release_shows_at_once():
    """After 900 good journeys, cumulative success still says 96.9 %; the last 30 s say 50 %."""
    now, window = int(NOW), 30
    before = {now - 100 - i: 10 for i in range(90)}
    inside = {now - i: 2 for i in range(window)}                   # now-29 .. now
    too_old = {now - window: 7}
    entry = journey("send_money 4.2.0", 960, 30, {**before, **inside, **too_old},
                    {now - i: 1 for i in range(window)} | {now + 1: 5})
    row = by_version(board([entry], now=NOW, window_s=window))["4.2.0"]
    assert (row["journeys"], row["failed"], row["success_pct"]) == (960, 30, 96.9)
    assert (row["recent_journeys"], row["recent_success_pct"]) == (60, 50.0)


def test_journey_rows_break_each_version_down():
    result = board([journey("send_money 4.2.0", 10, 5, {int(NOW): 4}, {int(NOW): 4}),
                    journey("app_open 4.2.0", 10, 0), journey("app_open 4.1.3", 3, 0)], now=NOW)
    assert [(r["app_version"], r["journey"], r["success_pct"], r["recent_success_pct"])
            for r in result["journeys"]] == [("4.1.3", "app_open", 100.0, None),
                                             ("4.2.0", "app_open", 100.0, None),
                                             ("4.2.0", "send_money", 50.0, 0.0)]
    assert result["window_s"] == RECENT_WINDOW_S


@pytest.mark.parametrize("entries", [
    [],
    [journey("app_open 4.1.3", 0, 0)],          # after Locust's "reset stats"
    [journey("nospace", 5, 0)],                 # not "<journey> <version>"
])
def test_nothing_to_show_gives_no_rows(entries):
    assert board(entries, now=NOW) == {"window_s": RECENT_WINDOW_S, "versions": [],
                                       "journeys": []}
