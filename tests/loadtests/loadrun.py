"""Helpers for the load-test suite: ports, subprocesses, seeding over HTTP, Locust's
command line. A plain module (not conftest) so tests can import it by a unique name."""
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
ADMIN_TOKEN = "loadtest-admin-token"
SEEDED_USERS = 12
BANKSIM = Path(sys.executable).with_name("banksim")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """Terminate a subprocess we started (then kill it if it lingers)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"banksim serve exited {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"banksim serve did not answer in 30 s:\n{log.read_text()}")


@dataclass
class Bank:
    url: str


def locust_command(bank: Bank, *args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", bank.url,
            "--seeded-users", str(SEEDED_USERS), "--think-min", "0.1", "--think-max", "0.5",
            "--only-summary", "--loglevel", "INFO", *args]
