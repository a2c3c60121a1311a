"""Two server processes on one database: a change made through one applies in the other."""
import time

import requests


def poll(check, within_s):
    """Call `check` until it returns truthy or time runs out; return (value, seconds taken)."""
    started = time.monotonic()
    while True:
        value = check()
        if value or time.monotonic() - started > within_s:
            return value, time.monotonic() - started
        time.sleep(0.05)


def status_of(url):
    return requests.get(url + "/hello", timeout=5).status_code


def test_a_rule_created_in_one_process_applies_in_the_other(start_gunicorn):
    first, second = start_gunicorn(), start_gunicorn()
    assert status_of(second.url) == 200
    created = requests.post(first.url + "/admin/chaos/rules", timeout=5, json={
        "fault": {"type": "error", "status": 503}, "match": {"path": "/hello"}})
    assert created.status_code == 201
    seen, took = poll(lambda: status_of(second.url) == 503, within_s=3)
    assert seen, "the other process never applied the rule"
    assert took < 1.5  # docs/reference.md: within one second (plus slack for a busy machine)

    requests.post(second.url + "/admin/chaos/disable", timeout=5)
    assert poll(lambda: status_of(first.url) == 200, within_s=3)[0]


def test_counters_from_both_processes_add_up(start_gunicorn):
    first, second = start_gunicorn(), start_gunicorn()
    rule = requests.post(first.url + "/admin/chaos/rules", timeout=5, json={
        "fault": {"type": "error", "status": 500}, "match": {"path": "/hello"}}).json()
    assert poll(lambda: status_of(second.url) == 500, within_s=3)[0]
    for url in (first.url, second.url, first.url):
        assert status_of(url) == 500

    def counted():
        stats = requests.get(f"{second.url}/admin/chaos/rules/{rule['id']}", timeout=5).json()
        return stats["stats"]["injected"] == 4
    assert poll(counted, within_s=3)[0]
    events = requests.get(first.url + "/admin/chaos/events", timeout=5).json()["events"]
    assert len(events) == 4
