"""A real database crash: the bank (`banksim serve --workers 2`) on a PostgreSQL cluster of
the test's own, transfers with Idempotency-Keys from a few threads through database faults,
the postmaster SIGKILLed mid-load and restarted. Every acknowledged transfer is in the
ledger exactly once, every unknown outcome settles on retry with its key, the audit holds,
and the time the bank took to serve again is printed (not asserted).

It brings its own cluster, so it runs in the PostgreSQL pass (BANKSIM_TEST_DATABASE_URL
set, as in .ci/run) and is skipped in the SQLite one."""
import os
import time

import pytest
import requests
from tests.reliability.bank_jepsen import Workload, all_transfers, check, customer_money, log_in
from tests.helpers.pg_cluster import Cluster, unavailable_reason

USERS = 10
DURATION_S = 14  # clients invoke transfers for this long; the crash comes at CRASH_AT_S
CRASH_AT_S = 5
DOWN_S = 1.0  # the database stays dead this long before it is restarted
FAULTS = [
    {"name": "crash test: dropped connections", "fault": {"type": "db_disconnect",
                                                          "statement": "write"},
     "match": {"path": "/transfers", "methods": ["POST"]}, "probability": 0.1},
    {"name": "crash test: conflicts", "fault": {"type": "db_error", "kind": "serialization"},
     "match": {"path": "/transfers", "methods": ["POST"]}, "probability": 0.1},
]


@pytest.fixture
def cluster():
    if not os.environ.get("BANKSIM_TEST_DATABASE_URL"):
        pytest.skip("the PostgreSQL pass runs it (it brings its own cluster)")
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    cluster = Cluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def serve_again(url: str, customer, timeout_s: float = 30) -> float | None:
    """Seconds until a request that reads the database is answered 200 (None: never)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            response = requests.get(f"{url}/accounts/{customer.account_id}/balance", timeout=5,
                                    headers={"Authorization": f"Bearer {customer.token}"})
            if response.status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return None


@pytest.mark.slow
@pytest.mark.jepsen
def test_transfers_survive_a_database_crash(cluster, bank_server):
    server = bank_server(url=cluster.url)
    try:
        server.seed(USERS, months=1)
        before = customer_money(cluster.url)
        server.start()
        for rule in FAULTS:
            server.admin("POST", "/admin/chaos/rules", json=rule)
        customers = log_in(server.url, USERS)
        workload = Workload(server.url, customers, threads=4,
                            median_balance=before["median_current"], duration_s=DURATION_S)
        workload.start()
        time.sleep(CRASH_AT_S)
        cluster.kill()
        killed_at = time.time()
        time.sleep(DOWN_S)
        cluster.start()
        restarted_at = time.time()
        serving_again = serve_again(server.url, customers[0])
        workload.join()
        time.sleep(1.5)  # the chaos counters reach the database every 0.5 s
        injected = sum(r["stats"]["injected"]
                       for r in server.admin("GET", "/admin/chaos").json()["rules"])
        audit = server.admin("GET", "/admin/audit").json()
        transfers = all_transfers(server.url, server.admin_headers)
        after = customer_money(cluster.url)
        health = requests.get(server.url + "/health", timeout=5)
    finally:
        server.stop()
    operations = workload.operations
    violations = check(operations, transfers, audit, before, after)
    results = {name: sum(op.result == name for op in operations)
               for name in ("ok", "fail", "unknown")}
    seen = dict(workload.client_faults)
    down_s = restarted_at - killed_at
    again = "never" if serving_again is None else (
        f"{serving_again:.2f} s after the restart ({down_s + serving_again:.1f} s after the kill)")
    print(f"\ndatabase crash: {len(operations)} operations ({results}), "
          f"{sum(len(op.attempts) for op in operations)} attempts, {injected} database faults "
          f"injected, 1 crash (database down {down_s:.1f} s), clients saw {seen}, serving "
          f"again {again}, {len(violations)} violations")

    assert not violations, violations[:20]
    assert audit["ok"] and health.ok
    assert results["unknown"] == 0, results  # every unknown outcome settled with its key
    assert "http_500" not in seen, seen  # a database outage is a 503, never a 500
    assert serving_again is not None  # the bank served again after the restart
    assert results["ok"] > 20 and injected > 0, (results, injected)  # it tested something
