"""Fixtures for the load-test suite: a real bank in a subprocess with seeded customers,
and bookkeeping for the Locust subprocesses a test starts. Nothing here imports Locust
(gevent would monkey-patch pytest's own process)."""
import os
import signal
import subprocess

import pytest

from tests.helpers.loadrun import ADMIN_TOKEN, BANKSIM, SEEDED_USERS, Bank, still_running, stop

from loadtests.run.incident import BankProcess, free_port


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    """A bank on 127.0.0.1 with SEEDED_USERS customers user{n}@example.com / banksim.

    Chaos is off (BANKSIM_CHAOS=0): these runs must be all green.
    """
    workdir = tmp_path_factory.mktemp("bank")
    env = {**os.environ, "BANKSIM_DATABASE_URL": f"sqlite:///{workdir / 'bank.db'}",
           "BANKSIM_ADMIN_TOKEN": ADMIN_TOKEN, "BANKSIM_CHAOS": "0",
           "BANKSIM_PASSWORD_HASH": "pbkdf2:sha256:1000"}
    seed = [str(BANKSIM), "seed", "--users", str(SEEDED_USERS), "--months", "1"]
    subprocess.run(seed, env=env, cwd=workdir, capture_output=True, timeout=120, check=True)
    server = BankProcess(env, free_port(), 1, workdir / "serve.log")
    try:
        server.wait_healthy(30)
        yield Bank(server.url)
    finally:
        server.stop()


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
