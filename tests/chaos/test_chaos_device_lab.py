"""A device lab against `banksim serve` (2 gunicorn workers), as docs/device-lab.md runs it:
`banksim chaos header-faults on --device ID` reaches every worker, only that device's
X-Banksim-Fault is applied, hostile headers never get a 5xx, and the kill switch ends a
long caller-chosen fault."""
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.helpers.promtext import sample

pytestmark = pytest.mark.slow
LAB = {"X-Device-Id": "lab-phone-1"}
HANGING = 12  # more than the 2 workers x 4 requests each may hold in slow faults


def banksim(bank, *args):
    """The real command, with only what the docs give a user (BANKSIM_URL, the token)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKSIM_")}
    env.update(BANKSIM_URL=bank.url, BANKSIM_ADMIN_TOKEN=bank.admin_headers[
        "Authorization"].split()[1])
    result = subprocess.run([sys.executable, "-m", "banksim", "chaos", *args], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def every_worker_says(bank, on: bool) -> None:
    """/health from both workers shows the setting (each applies a change within a second)."""
    seen = {}
    for _ in range(200):
        answer = requests.get(bank.url + "/health", timeout=10).json()
        seen[answer["worker"]] = answer["chaos_header_faults"]
        if len(seen) == 2 and set(seen.values()) == {on}:
            return
        time.sleep(0.05)
    raise AssertionError(seen)


def test_one_allowed_device_gets_the_faults_it_asks_for_in_every_worker(bank_serve):
    bank = bank_serve()
    assert "header faults off" in banksim(bank, "status")
    assert "on for device lab-phone-1" in banksim(bank, "header-faults", "on", "--device",
                                                  "lab-phone-1")
    every_worker_says(bank, True)
    assert "header faults on for device lab-phone-1" in banksim(bank, "status")
    for _ in range(8):  # both workers: the lab phone is broken, another phone is not
        hit = requests.get(bank.url + "/me", timeout=10,
                           headers={**LAB, "X-Banksim-Fault": "error=503"})
        assert hit.status_code == 503 and hit.headers["X-Chaos-Rule"] == "header"
        other = requests.get(bank.url + "/me", timeout=10, headers={
            "X-Device-Id": "lab-phone-2", "X-Banksim-Fault": "error=503"})
        assert other.status_code == 401
        with pytest.raises(requests.ConnectionError):
            requests.get(bank.url + "/me", timeout=10, headers={**LAB, "X-Banksim-Fault": "reset"})
    for value in ("latency=10h", "bandwidth=0", "a;b;c;d;e", "latency=8\u00e9",
                  "x" * 5000, "error=503;" * 30):
        answer = requests.get(bank.url + "/me", timeout=10,
                              headers={**LAB, "X-Banksim-Fault": value.encode("latin-1")})
        assert answer.status_code == 401, (value, answer.status_code)
    # a control character: the server's HTTP parser refuses the request before chaos sees it
    unreadable = requests.get(bank.url + "/me", timeout=10,
                              headers={**LAB, "X-Banksim-Fault": "latency=8\x0100"})
    assert unreadable.status_code == 400 and "error" in unreadable.json(), unreadable.text
    time.sleep(1.0)  # every worker flushes its events within half a second
    events = banksim(bank, "events", "--limit", "50")
    assert events.count("lab-phone-1") == 16 and "lab-phone-2" not in events, events
    metrics = requests.get(bank.url + "/metrics", timeout=10).text
    assert sample(metrics, "chaos_header_faults_ignored_total", reason="not_allowed") == 8
    assert sample(metrics, "chaos_header_faults_ignored_total") >= 14
    assert "header faults off" in banksim(bank, "header-faults", "off")
    every_worker_says(bank, False)


def test_the_kill_switch_ends_a_long_caller_chosen_fault(bank_serve):
    bank = bank_serve()
    banksim(bank, "header-faults", "on", "--device", "lab-phone-1")
    every_worker_says(bank, True)
    asked = {**LAB, "X-Banksim-Fault": "timeout=60s"}
    with ThreadPoolExecutor(HANGING) as pool:
        hangs = [pool.submit(_closed, bank.url, asked) for _ in range(HANGING)]
        time.sleep(1.5)  # the requests are held (those beyond the cap were hung up at once)
        assert sum(not hang.done() for hang in hangs) >= 2
        assert requests.get(bank.url + "/health", timeout=10).ok  # threads are left for it
        banksim(bank, "off")
        # well before the 60 s it asked for: the hold ends when the kill switch moves
        assert all(hang.result(timeout=30) == "closed" for hang in hangs)
    every_worker_says(bank, False)
    assert requests.get(bank.url + "/me", timeout=10, headers=asked).status_code == 401


def _closed(url, headers) -> str | int:
    try:
        return requests.get(url + "/me", timeout=90, headers=headers).status_code
    except requests.ConnectionError:
        return "closed"


def test_taking_a_device_off_the_allow_list_ends_its_held_faults(bank_serve):
    """The setting applies as a rule change does: a held fault re-checks that its device
    is still allowed, in every worker, as it re-checks the kill switch."""
    bank = bank_serve()
    banksim(bank, "header-faults", "on", "--device", "lab-phone-1")
    every_worker_says(bank, True)
    asked = {**LAB, "X-Banksim-Fault": "latency=60s"}
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(requests.get, bank.url + "/me", timeout=90, headers=asked)
                for _ in range(2)]
        time.sleep(1.5)
        assert not any(answer.done() for answer in held)
        moved = requests.put(bank.url + "/admin/chaos/settings", timeout=10,
                             headers=bank.admin_headers, json={
                                 "header_faults": True, "allow": {"devices": ["lab-phone-2"]}})
        assert moved.status_code == 200, moved.text
        # well before the 60 s asked for: the bank's own answer, no longer slowed
        assert all(answer.result(timeout=30).status_code == 401 for answer in held)
