"""R8: what a chaos rule change costs when 1,000 rules are kept.

Measured on `banksim serve` through the admin API, at 0 rules and then at 999 idle rules
(+1 for the rule being changed = the default limit of 1,000):
- one POST /admin/chaos/rules (median of 20; each rule is deleted again, untimed);
- GET /me p95 from 4 clients while an admin loop adds and deletes a rule non-stop, so every
  worker reloads its rules over and over.
A reload recompiles only rules whose stored definition changed, so both should cost about
the same at 1,000 rules as at none. Run: python -m benchmarks.run --only R8
"""
import statistics
import threading
import time

import requests

IDLE_RULES = 999
POSTS = 20
CLIENTS = 4
READ_SECONDS = 6


def _post_ms(bench) -> float:
    timings = []
    for n in range(POSTS):
        began = time.perf_counter()
        rule = bench.admin("POST", "/admin/chaos/rules", json={
            "name": f"r8 {n}", "match": {"path": "/r8/changed"}, "fault": {"type": "reset"}})
        timings.append((time.perf_counter() - began) * 1000)
        bench.admin("DELETE", f"/admin/chaos/rules/{rule['id']}")
    return statistics.median(timings)


def _me_p95_ms_during_changes(bench) -> float:
    stop, timings = threading.Event(), []
    headers = {"Authorization": f"Bearer {bench.users[0]['token']}"}

    def changer():
        while not stop.is_set():
            rule = bench.admin("POST", "/admin/chaos/rules", json={
                "match": {"path": "/r8/changed"}, "fault": {"type": "reset"}})
            bench.admin("DELETE", f"/admin/chaos/rules/{rule['id']}")

    def reader():
        session = requests.Session()
        while not stop.is_set():
            began = time.perf_counter()
            session.get(bench.url + "/me", headers=headers, timeout=10).raise_for_status()
            timings.append((time.perf_counter() - began) * 1000)
    threads = [threading.Thread(target=changer, daemon=True)]
    threads += [threading.Thread(target=reader, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(READ_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(15)
    return statistics.quantiles(timings, n=20)[-1]


def _fill(bench, count: int) -> None:
    for n in range(count):
        bench.admin("POST", "/admin/chaos/rules", json={
            "name": f"idle {n}", "match": {"path": f"/r8/idle/{n}"},
            "fault": {"type": "error", "status": 503}})


def r8_rule_change_cost(bench) -> list[dict]:
    bench.admin("DELETE", "/admin/chaos/rules")
    time.sleep(1.0)
    empty = (_post_ms(bench), _me_p95_ms_during_changes(bench))
    _fill(bench, IDLE_RULES)
    time.sleep(1.0)
    full = (_post_ms(bench), _me_p95_ms_during_changes(bench))
    bench.admin("DELETE", "/admin/chaos/rules")
    return [
        {"id": "R8", "measures": "one POST /admin/chaos/rules (median of 20): "
         f"{IDLE_RULES + 1:,} rules / none", "a": f"{full[0]:.1f} ms", "b": f"{empty[0]:.1f} ms",
         "ratio": full[0] / empty[0], "target": "< 5"},
        {"id": "R8", "measures": f"GET /me p95 from {CLIENTS} clients while rules change "
         f"non-stop: {IDLE_RULES + 1:,} rules / none", "a": f"{full[1]:.1f} ms",
         "b": f"{empty[1]:.1f} ms", "ratio": full[1] / empty[1],
         "target": "< 1.5"}]
