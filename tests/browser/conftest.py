"""Fixtures of the browser checks: one headless Chromium for the session, and a fresh page
at 1366x768 per test whose console errors and requests are recorded (chromium.Recorder).
Every test here is skipped, saying why, where Chromium is not installed."""
import pytest

from tests.browser.chromium import MISSING, VIEWPORT, Recorder, executable, launch


@pytest.fixture(scope="session")
def browser():
    if executable() is None:
        pytest.skip(MISSING)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=VIEWPORT)
    yield context
    context.close()


@pytest.fixture
def page(context):
    """A page with `page.recorder` (what it logged and requested)."""
    page = context.new_page()
    page.recorder = Recorder().attach(page)
    return page
