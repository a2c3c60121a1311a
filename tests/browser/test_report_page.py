"""report.html in headless Chromium: it draws every chart, logs no error, asks the network
for nothing, and says what happened and whether the run passed in the first screen."""
import pytest

from tests.browser.chromium import below_the_fold, block_network, charts, undrawn
from tests.browser.pages import (incident_report, nothing_ran_report, partial_failing_report,
                                 write_report_page)

REPORTS = {"incident": incident_report, "partial-and-failing": partial_failing_report,
           "nothing-ran": nothing_ran_report}
CHARTS = {"journey success rate over time per app version",
          "latency percentiles per journey and app version",
          "failed journeys and affected users per app version", "retries per journey by phase"}


@pytest.fixture(scope="module", params=REPORTS)
def report_page(request, tmp_path_factory):
    report = REPORTS[request.param]()
    return report, write_report_page(report, tmp_path_factory.mktemp(request.param))


def test_report_page_draws_every_chart_offline_without_errors(report_page, context, page):
    _, path = report_page
    block_network(context)
    page.goto(path.as_uri(), wait_until="load")
    found = charts(page)
    assert CHARTS <= {chart["name"] for chart in found}, found
    assert undrawn(found) == []
    assert page.recorder.errors == []
    assert page.recorder.leaving("file://") == []


def test_report_page_says_what_happened_and_the_verdict_in_the_first_screen(report_page, page):
    report, path = report_page
    page.goto(path.as_uri(), wait_until="load")
    assert below_the_fold(page, ["h1", ".headline", "p:has(> .verdict)"]) == []
    assert page.locator(".headline").inner_text() == report["headline"]
    passed = page.locator(".verdict").inner_text()
    assert passed == ("FAIL" if report["partial"] else "PASS")
    if report["partial"]:
        assert below_the_fold(page, [".partial"]) == []
