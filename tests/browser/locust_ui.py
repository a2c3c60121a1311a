"""Locust with its web UI as a subprocess (never imported here: gevent would patch this
process), against a bank on 127.0.0.1, and what its journey tabs show in the browser."""
import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from tests.helpers.loadrun import Bank, locust_command, stop

from loadtests.run.bank import free_port

# The tab's table as the page shows it: the structure Locust's UI was given (its
# templateArgs), each row's cells as text under their column's key.
TABLE_ROWS = """title => {
  const structure = window.templateArgs.extended_tables
    .find(table => table.key === window.templateArgs.extended_tabs
      .find(tab => tab.title === title).key).structure;
  const heads = [...document.querySelectorAll("table thead th")].map(th => th.innerText.trim());
  const keys = heads.map(head => (structure.find(column => column.title === head) || {}).key);
  return [...document.querySelectorAll("table tbody tr")].map(tr => Object.fromEntries(
    [...tr.querySelectorAll("td")].map((td, i) => [keys[i], td.innerText.trim()])));
}"""


@contextlib.contextmanager
def locust_web_ui(bank: Bank, log: Path, *args: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """(the UI's URL, the process) once the UI answers; the process is stopped on the way
    out, whatever happened."""
    port = free_port()
    with open(log, "w") as out:
        process = subprocess.Popen(
            locust_command(bank, "--web-host", "127.0.0.1", "--web-port", str(port), *args),
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(f"{url}/journeys", timeout=2).ok, 30, process, log,
                 "the web UI never answered")
        yield url, process
    finally:
        stop(process)


def wait_for(condition, timeout_s: float, process: subprocess.Popen, log: Path, what: str):
    """condition()'s first true value within timeout_s; AssertionError with Locust's log if
    it never comes or Locust exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"locust exited {process.returncode}: {what}:\n"
                                 f"{log.read_text()[-3000:]}")
        try:
            if value := condition():
                return value
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout_s} s:\n{log.read_text()[-3000:]}")


def shown(value) -> str:
    """A /journeys figure as the tab's cell shows it (whole percentages without '.0')."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def tab_rows(page, title: str) -> list[dict]:
    """Open the tab called `title` and read its table."""
    page.get_by_role("tab", name=title).click()
    page.locator("table tbody tr").first.wait_for()
    return page.evaluate(TABLE_ROWS, title)
