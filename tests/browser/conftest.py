"""Fixtures of the browser checks: one headless Chromium for the session, and a fresh page
at 1366x768 per test whose console errors and requests are recorded (chromium.Recorder).
Where Chromium is not installed, every test that needs the browser is skipped, saying why,
before any of its pages is built."""
import pytest

from tests.browser.chromium import MISSING, VIEWPORT, Recorder, executable, launch


def pytest_collection_modifyitems(config, items):
    if executable() is not None:
        return
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=MISSING))


@pytest.fixture(scope="session")
def browser():
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
