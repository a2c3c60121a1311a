"""Webhooks against a real `banksim serve` (2 gunicorn workers, a dispatcher in each) and the
reference receiver run as a user runs it: `banksim webhooks listen`."""
import json
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from loadtests.run.incident import free_port

pytestmark = pytest.mark.slow
PAYMENTS = 12


def customer(base: str) -> dict:
    email = f"hooks-{uuid.uuid4().hex[:8]}@example.com"
    body = requests.post(f"{base}/auth/register", json={"email": email, "name": "Hook",
                                                        "password": "correct horse"}).json()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    account = requests.get(f"{base}/accounts", headers=headers).json()["accounts"][0]["id"]
    requests.post(f"{base}/accounts/{account}/topup", json={"amount": 500_00},
                  headers={**headers, "Idempotency-Key": "top"}).raise_for_status()
    return {"headers": headers, "account": account}


def listen(port: int, secret: str, out) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "banksim", "webhooks", "listen",
                                "--port", str(port), "--secret", secret, "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the receiver did not start")


def stop(process: subprocess.Popen) -> dict:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_two_workers_deliver_each_event_once_signed_and_in_order(served_bank, tmp_path):
    me, port = customer(served_bank), free_port()
    hook = requests.post(f"{served_bank}/webhooks", json={"url": f"http://127.0.0.1:{port}/in"},
                         headers=me["headers"]).json()
    receiver = listen(port, hook["secret"], tmp_path / "events.jsonl")
    try:
        def pay(n):
            return requests.post(f"{served_bank}/payments", json={
                "account_id": me["account"], "amount": 1_00 + n, "merchant": "Tesco",
                "category": "groceries"}, headers={**me["headers"], "Idempotency-Key": f"p{n}"})
        with ThreadPoolExecutor(4) as pool:
            assert {r.status_code for r in pool.map(pay, range(PAYMENTS))} == {201}
        url = f"{served_bank}/webhooks/{hook['id']}/deliveries"
        deadline = time.monotonic() + 30
        while True:
            listed = requests.get(url, headers=me["headers"]).json()["deliveries"]
            if len(listed) == PAYMENTS and {d["state"] for d in listed} == {"delivered"}:
                break
            assert time.monotonic() < deadline, listed
            time.sleep(0.2)
    finally:
        counts = stop(receiver)
    assert [d["attempts"] for d in listed] == [1] * PAYMENTS  # one attempt in flight per event
    assert counts["accepted"] == PAYMENTS and counts["duplicates"] == 0
    assert counts["bad_signatures"] == 0
    lines = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [line["event"]["sequence"] for line in lines] == list(range(1, PAYMENTS + 1))


def test_the_receiver_refuses_bad_and_stale_signatures(tmp_path):
    port = free_port()
    receiver = listen(port, "whsec_test", tmp_path / "events.jsonl")
    try:
        body = b'{"id":"evt_1","account_id":"acc_1","sequence":1}'
        url = f"http://127.0.0.1:{port}/"
        now = int(time.time())
        assert requests.post(url, data=body).status_code == 400
        assert requests.post(url, data=body, headers={
            "Banksim-Signature": f"t={now},v1=" + "0" * 64}).status_code == 400
        from bankapi.webhooks.sender import signature
        stale = signature("whsec_test", body, now - 3600)
        assert requests.post(url, data=body,
                             headers={"Banksim-Signature": stale}).status_code == 400
        good = signature("whsec_test", body)
        for _ in range(2):
            assert requests.post(url, data=body,
                                 headers={"Banksim-Signature": good}).status_code == 200
    finally:
        counts = stop(receiver)
    assert counts["bad_signatures"] == 3 and counts["accepted"] == 1
    assert counts["duplicates"] == 1


def test_the_receiver_bounds_bodies_and_names_an_unwritable_file(tmp_path):
    result = subprocess.run([sys.executable, "-m", "banksim", "webhooks", "listen", "--port",
                             "0", "--secret", "s", "--out", str(tmp_path / "no" / "x.jsonl")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "cannot write" in result.stderr, result.stderr
    port = free_port()
    receiver = listen(port, "whsec_test", tmp_path / "events.jsonl")
    try:
        url = f"http://127.0.0.1:{port}/"
        assert requests.post(url, data=b"x" * (64 * 1024 + 1)).status_code == 413
        assert requests.post(url, data=b"[" * 5000, headers={
            "Banksim-Signature": "t=1,v1=00"}).status_code == 400
    finally:
        counts = stop(receiver)
    assert counts["accepted"] == 0


def test_delivery_chaos_shows_in_chaos_events_and_metrics(served_bank, tmp_path):
    from tests.conftest import ADMIN_TOKEN
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    me, port = customer(served_bank), free_port()
    rule = requests.post(f"{served_bank}/admin/chaos/rules", headers=admin, json={
        "fault": {"type": "webhook_duplicate", "times": 2},
        "match": {"events": ["transaction.created"]}})
    assert rule.status_code == 201, rule.text
    hook = requests.post(f"{served_bank}/webhooks", json={"url": f"http://127.0.0.1:{port}/"},
                         headers=me["headers"]).json()
    receiver = listen(port, hook["secret"], tmp_path / "events.jsonl")
    try:
        paid = requests.post(f"{served_bank}/payments", json={
            "account_id": me["account"], "amount": 1_00, "merchant": "Tesco",
            "category": "groceries"}, headers={**me["headers"], "Idempotency-Key": "dup"})
        assert paid.status_code == 201
        deadline = time.monotonic() + 30
        url = f"{served_bank}/webhooks/{hook['id']}/deliveries"
        while requests.get(url, headers=me["headers"]).json()["deliveries"][0]["state"] \
                != "delivered":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        counts = stop(receiver)
        requests.delete(f"{served_bank}/admin/chaos/rules", headers=admin)
    assert counts["accepted"] == 1 and counts["duplicates"] == 1
    env = {"BANKSIM_URL": served_bank, "BANKSIM_ADMIN_TOKEN": ADMIN_TOKEN, "PATH": ""}
    shown = subprocess.run([sys.executable, "-m", "banksim", "chaos", "events"], env=env,
                           capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0, shown.stderr
    assert "webhook_duplicate" in shown.stdout
    assert "webhook transaction.created" in " ".join(shown.stdout.split())
    metrics = requests.get(f"{served_bank}/metrics").text
    assert 'fault="webhook_duplicate"' in metrics
