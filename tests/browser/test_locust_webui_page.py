"""Locust's web UI in headless Chromium, on a short real run against a real bank: its two
journey tabs show the rows of GET /journeys, its charts are drawn, it logs no error and asks
nothing of any host but its own."""
import pytest
import requests

from tests.browser.chromium import charts, undrawn
from tests.browser.locust_ui import locust_web_ui, shown, tab_rows, wait_for
from tests.helpers.loadrun import seeded_bank

from loadtests.phone.webui import TABS

pytestmark = pytest.mark.slow
SETTLED = ("app_version", "journey", "journeys", "failed", "success_pct")


def settled(row: dict) -> dict:
    """The columns that stop moving when the run stops (the "last 15 s" ones slide on)."""
    return {column: row[column] for column in SETTLED if column in row}


def ui_saw_the_stop(page, polls: list, timeout_ms: int = 15_000) -> dict:
    """The extended stats of the UI's poll that saw the run stopped: its last (the UI polls
    every 2 s while a run goes on, and stops then). A poll that went out as the run was
    stopping can be the UI's last without saying "stopped" (seen on a loaded machine): then
    the page is loaded again, as a user would, and its first poll sees the stopped run."""
    for attempt in range(2):
        for _ in range(timeout_ms // 250):
            if polls and polls[-1].json()["state"] == "stopped":
                return {tab["key"]: tab["data"] for tab in polls[-1].json()["extended_stats"]}
            page.wait_for_timeout(250)
        if attempt == 0:
            page.reload(wait_until="load")
    raise AssertionError(f"the web UI never polled the stopped run ({len(polls)} polls)")


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    with seeded_bank(tmp_path_factory.mktemp("bank")) as served:
        yield served


def test_journey_tabs_show_the_rows_of_get_journeys(bank, tmp_path, page):
    polls = []  # the UI's own /stats/requests answers, the last one is what its tables show
    page.on("response", lambda response: response.url.endswith("/stats/requests")
            and polls.append(response))
    log = tmp_path / "locust.log"
    with locust_web_ui(bank, log, "--autostart", "--autoquit", "30", "-u", "4", "-r", "4",
                       "-t", "8s") as (ui, locust):
        page.goto(ui, wait_until="load")
        wait_for(lambda: requests.get(f"{ui}/stats/requests", timeout=2).json()["state"]
                 == "stopped", 40, locust, log, "the run never stopped")
        board = requests.get(f"{ui}/journeys", timeout=5).json()
        assert board["versions"], "the run ran journeys"
        last = ui_saw_the_stop(page, polls)
        for key, (title, kind, _) in TABS.items():
            shows = tab_rows(page, title)
            assert [settled(row) for row in shows] == \
                [settled({column: shown(value) for column, value in row.items()})
                 for row in board[kind]], title
            assert shows == [{column: shown(value) for column, value in row.items()}
                             for row in last[key]], title  # the "last 15 s" as of that poll

        page.get_by_role("tab", name="Charts").click()
        page.locator("canvas").first.wait_for()
        drawn = charts(page, "canvas")
        assert len(drawn) >= 3 and undrawn(drawn) == [], drawn
        assert page.recorder.errors == []
        assert page.recorder.leaving(ui + "/") == []
