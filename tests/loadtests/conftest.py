"""Fixtures for the load-test suite: a real bank in a subprocess with seeded customers,
and bookkeeping for the Locust subprocesses a test starts. Nothing here imports Locust
(gevent would monkey-patch pytest's own process)."""
import os
import signal
import subprocess

import pytest

from tests.helpers.loadrun import seeded_bank, still_running, stop


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    """A bank on 127.0.0.1 with SEEDED_USERS customers user{n}@example.com / banksim.

    Chaos is off (BANKSIM_CHAOS=0): these runs must be all green.
    """
    with seeded_bank(tmp_path_factory.mktemp("bank")) as served:
        yield served


@pytest.fixture
def processes():
    """Subprocesses a test starts; all stopped at teardown, whatever happened."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        stop(process)


@pytest.fixture
def descendants_killed():
    """Processes (loadrun.identity) a test saw under a run: any still alive at teardown is
    killed, so a test that finds a leak does not leave it running."""
    seen: set = set()
    yield seen
    for pid, _ in still_running(seen):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
