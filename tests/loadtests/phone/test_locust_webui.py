"""The web UI's journey tabs, for real: Locust with its web UI as a subprocess (never
imported here), polled over HTTP while the run goes on, on a local runner and on a
distributed master."""
import subprocess
import sys
import time

import pytest
import requests

from tests.helpers.loadrun import LOCUSTFILE, locust_command

from loadtests.run.bank import free_port

pytestmark = pytest.mark.slow
TAB_TITLES = ("Journeys by app version", "Journeys by name and version")


def poll_journeys(ui, process, log):
    """GET /journeys until it has version rows with journeys in them."""
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"locust exited {process.returncode}:\n{log.read_text()[-5000:]}")
        try:
            board = requests.get(f"{ui}/journeys", timeout=2).json()
            if board["versions"] and all(row["journeys"] > 0 for row in board["versions"]):
                return board
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"no journey rows at {ui}/journeys in 40 s:\n{log.read_text()[-5000:]}")


def start_workers(processes, master_port, count=2):
    for _ in range(count):
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
             "--master-host", "127.0.0.1", "--master-port", str(master_port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


@pytest.mark.parametrize("topology", ["local", "distributed"])
def test_journey_tabs_show_live_success_per_app_version(bank, tmp_path, processes, topology):
    web_port, master_port = free_port(), free_port()
    distributed = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port",
                   str(master_port), "--expect-workers", "2"] if topology == "distributed" else []
    log = tmp_path / "locust.log"
    with open(log, "w") as out:
        locust = subprocess.Popen(locust_command(
            bank, "--autostart", "--autoquit", "1", "-u", "4", "-r", "4", "-t", "15s",
            "--web-host", "127.0.0.1", "--web-port", str(web_port), *distributed),
            stdout=out, stderr=subprocess.STDOUT)
    processes.append(locust)
    if distributed:
        start_workers(processes, master_port)
    ui = f"http://127.0.0.1:{web_port}"

    board = poll_journeys(ui, locust, log)
    for row in board["versions"]:
        assert row["app_version"].startswith(("4.0.", "4.1.")), row  # chaos off, no timeline
        assert row["failed"] == 0 and row["success_pct"] == 100.0, row
        assert 0 < row["recent_journeys"] <= row["journeys"], row
    assert {row["app_version"] for row in board["journeys"]} == \
        {row["app_version"] for row in board["versions"]}
    assert sum(row["journeys"] for row in board["journeys"]) == \
        sum(row["journeys"] for row in board["versions"])

    index = requests.get(f"{ui}/", timeout=5).text
    assert all(title in index for title in TAB_TITLES)
    poll = requests.get(f"{ui}/stats/requests", timeout=5).json()
    extended = {tab["key"]: tab["data"] for tab in poll["extended_stats"]}
    assert extended.keys() == {"journeys-by-version", "journeys-by-name"}
    assert {row["app_version"] for row in extended["journeys-by-version"]} >= \
        {row["app_version"] for row in board["versions"]}
    assert poll["stats"], "Locust's own stats are still there"

    assert [process.wait(timeout=60) for process in processes] == [0] * len(processes), \
        log.read_text()[-5000:]
