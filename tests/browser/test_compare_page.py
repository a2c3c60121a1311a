"""compare.html in headless Chromium: both charts drawn, no error, nothing asked of the
network, and the verdicts begin in the first screen."""
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

from tests.browser.chromium import below_the_fold, block_network, charts, undrawn
from tests.browser.pages import write_compare_page

FIRST_VERDICT = "h2:text-is('Verdicts') ~ ul > li"


# The second has the one-run note above the verdicts, and only "nothing to compare".
COMPARISONS = {"two-runs-each": {"repeat": 2}, "one-run-each-stopped": {"repeat": 1,
                                                                        "stopped": True}}


@pytest.fixture(scope="module", params=COMPARISONS)
def compare_page(request, tmp_path_factory):
    return write_compare_page(tmp_path_factory.mktemp("compare"), **COMPARISONS[request.param])


def test_compare_page_draws_both_charts_offline_without_errors(compare_page, context, page):
    block_network(context)
    page.goto(compare_page.as_uri(), wait_until="load")
    found = charts(page)
    assert [c["name"] for c in found] == ["each metric per variant: mean and min-max",
                                          "journey success over time, one line per variant"]
    assert undrawn(found) == []
    assert page.recorder.errors == []
    assert page.recorder.leaving("file://") == []


def test_compare_page_gives_its_verdicts_in_the_first_screen(compare_page, page):
    page.goto(compare_page.as_uri(), wait_until="load")
    assert below_the_fold(page, ["h1", FIRST_VERDICT]) == []
    first = page.locator(FIRST_VERDICT).first.inner_text()
    if list(compare_page.parent.glob("v2-*/seed-*/report.json")):
        assert first.startswith("success_rate (higher is better): client_policy=backoff"), first
    else:
        assert first == "nothing to compare"


def test_compare_page_links_each_run_report_beside_it(compare_page, page):
    page.goto(compare_page.as_uri(), wait_until="load")
    links = page.locator("td a").evaluate_all("links => links.map(a => a.href)")
    assert len(links) == len(set(links)) == 2 * int(page.locator("td a").last.inner_text())
    for link in links:
        path = Path(url2pathname(urlparse(link).path))
        assert path.name == "report.html" and path.parent.is_dir(), link
