"""The docs' screenshots, taken in headless Chromium: `python -m tests.browser.screenshots`.

report.html and compare.html are built from recorded journey streams (tests/browser/pages.py,
as the browser checks build them); Locust's web UI is a real one-minute run of the
bad-release scenario against a real bank on 127.0.0.1, shown on its "Journeys by app
version" tab once the run has stopped. Each picture is the page's first screen at 1366x768.
Everything it starts is stopped on Ctrl-C, SIGTERM or SIGHUP.
"""
import argparse
import sys
import tempfile
from pathlib import Path

import requests

from tests.browser.chromium import MISSING, VIEWPORT, executable, launch
from tests.browser.locust_ui import locust_web_ui, wait_for
from tests.browser.pages import incident_report, write_compare_page, write_report_page
from tests.helpers.loadrun import ADMIN_TOKEN, seeded_bank

from loadtests.run.children import Interrupted, StopSignals

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LOCUST_RUN = ["--scenario", "bad-release", "--admin-token", ADMIN_TOKEN, "--autostart",
              "--autoquit", "60", "-u", "12", "-r", "12", "-t", "60s"]


def offline_pages(browser, work: Path, out: Path) -> list[Path]:
    pages = {"report.png": write_report_page(incident_report(), work / "report"),
             "compare.png": write_compare_page(work / "compare")}
    for name, html in pages.items():
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(html.as_uri(), wait_until="load")
        page.screenshot(path=out / name)
        page.close()
    return [out / name for name in pages]


def locust_page(browser, work: Path, out: Path) -> Path:
    """The journeys tab after a real run of bad-release: 4.2.0 failing, 4.2.1 fixing it."""
    with seeded_bank(work, chaos=True) as bank, \
            locust_web_ui(bank, work / "locust.log", *LOCUST_RUN) as (ui, locust):
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(ui, wait_until="load")
        print(f"Locust runs bad-release for 60 s against {bank.url}; web UI at {ui}")
        wait_for(lambda: requests.get(f"{ui}/stats/requests", timeout=2).json()["state"]
                 == "stopped", 120, locust, work / "locust.log", "the run never stopped")
        page.wait_for_timeout(3000)  # the UI's last poll (every 2 s) sees the run stopped
        page.get_by_role("tab", name="Journeys by app version").click()
        page.locator("table tbody tr").first.wait_for()
        page.mouse.move(0, VIEWPORT["height"] - 1)  # no hover or ripple on the tab
        page.wait_for_timeout(1000)  # the tab's underline slides over to it
        page.screenshot(path=out / "locust-journeys.png")
        page.close()
    return out / "locust-journeys.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.browser.screenshots",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"directory (default {OUT})")
    parser.add_argument("--skip-locust", action="store_true",
                        help="only the offline pages (no bank, no Locust run)")
    args = parser.parse_args(argv)
    if executable() is None:
        print(MISSING, file=sys.stderr)
        return 1
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"--out {args.out}: {error.strerror or error}")
    from playwright.sync_api import sync_playwright
    try:
        with StopSignals(), tempfile.TemporaryDirectory(prefix="banksim-shots-") as work, \
                sync_playwright() as playwright:
            browser = launch(playwright)
            shots = offline_pages(browser, Path(work), args.out)
            if not args.skip_locust:
                shots.append(locust_page(browser, Path(work), args.out))
            browser.close()
    except Interrupted as stop:
        print(f"stopped by {stop}: every process it started is stopped", file=sys.stderr)
        return 130
    for shot in shots:
        print(shot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
