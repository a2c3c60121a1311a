"""`banksim chaos status` and `chaos events` as a user sees them: in an 80-column terminal
(a real pseudo-terminal) every column is there and nothing ends in "…"; piped into a file
every row is whole on its lines (a log is grepped for a rule id or a device)."""
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time

import pytest
import requests


pytestmark = pytest.mark.slow
ADMIN_TOKEN = "test-admin-token"  # what the `served` fixture (tests/conftest.py) sets
NAME = "a rule with a name far too long for one line of a narrow terminal table"
DEVICE = "dev_0123456789abcdef0123456789abcdef"


def in_terminal(command: list[str], env: dict, columns: int = 80) -> str:
    """What `command` shows in a terminal `columns` wide (a pseudo-terminal)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.wait(timeout=60) == 0
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode()).replace("\r", "")


@pytest.fixture(scope="module")
def faulted(served):
    """The served bank with one rule that injected three faults; (env, rule id)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BANKSIM_", "COLUMNS", "LINES"))}
    env.update(BANKSIM_URL=served.url, BANKSIM_ADMIN_TOKEN=ADMIN_TOKEN, TERM="xterm")
    rule = {"name": NAME, "match": {"path": "/me"}, "fault": {"type": "error", "status": 503}}
    added = subprocess.run([sys.executable, "-m", "banksim", "chaos", "add", "-q", "-"],
                           input=json.dumps(rule), env=env, capture_output=True, text=True,
                           timeout=60)
    assert added.returncode == 0, added.stderr
    rule_id = added.stdout.strip()
    for _ in range(3):
        requests.get(served.url + "/me", headers={"X-Device-Id": DEVICE}, timeout=30)
    # each worker writes its injections down in batches (about every half second): wait
    # until all three are there, as a user reading the events a moment later would see them
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events = requests.get(served.url + "/admin/chaos/events", timeout=30, headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}"}).json()["events"]
        if sum(event["rule_id"] == rule_id for event in events) == 3:
            break
        time.sleep(0.2)
    return env, rule_id


@pytest.mark.parametrize("command", ["status", "events"])
def test_at_80_columns_every_column_is_there_and_nothing_is_cut(faulted, command):
    env, rule_id = faulted
    shown = in_terminal([sys.executable, "-m", "banksim", "chaos", command], env)
    assert "…" not in shown
    assert max(len(line) for line in shown.splitlines()) <= 80
    if command == "status":
        assert "injected" in shown and "3 / 3" in shown and rule_id in shown
    else:
        assert "user /" in shown and shown.count("error") == 3


@pytest.mark.parametrize("command", ["status", "events"])
def test_into_a_file_each_row_is_whole(faulted, command):
    env, rule_id = faulted
    result = subprocess.run([sys.executable, "-m", "banksim", "chaos", command], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "…" not in result.stdout
    lines = result.stdout.splitlines()
    if command == "status":
        assert any(rule_id in line for line in lines)
        assert any(NAME in line for line in lines) and "injected / matched" in result.stdout
    else:
        assert sum(rule_id in line and DEVICE in line and "GET /me" in line
                   for line in lines) == 3
