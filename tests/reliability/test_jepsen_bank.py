"""Jepsen-style: no money lost or duplicated through resets, 503s and a SIGKILL of the bank,
with card payments settling (and declining, and returning) while it happens."""
import threading
import time
from collections import Counter

import pytest
import requests
from tests.reliability.bank_jepsen import (
    BalanceWatcher,
    Workload,
    all_transfers,
    check,
    check_payments,
    customer_money,
    log_in,
    payments_made,
    wait_for_settlement,
    write_history,
)

USERS = 20
DURATION_S = 24  # clients invoke transfers for this long; the crash comes halfway

CHAOS_RULES = [
    {"name": "jepsen: reset before the handler", "fault": {"type": "reset"}, "phase": "before",
     "match": {"path": "/transfers", "methods": ["POST"]}, "probability": 0.25},
    {"name": "jepsen: reset after commit", "fault": {"type": "reset"}, "phase": "after",
     "match": {"path": "/transfers", "methods": ["POST"]}, "probability": 0.25},
    {"name": "jepsen: payment reset before", "fault": {"type": "reset"}, "phase": "before",
     "match": {"path": "/payments", "methods": ["POST"]}, "probability": 0.25},
    {"name": "jepsen: payment reset after", "fault": {"type": "reset"}, "phase": "after",
     "match": {"path": "/payments", "methods": ["POST"]}, "probability": 0.25},
    {"name": "jepsen: 503", "fault": {"type": "error", "status": 503, "retry_after_s": 1},
     "probability": 0.2},
]
SETTLEMENT_DELAY_S = "1"  # payments settle, decline and return during the run and the crash


@pytest.mark.slow
@pytest.mark.jepsen
def test_transfers_and_payments_survive_faults_and_a_crash(bank_server, database_url,
                                                          tmp_path):
    server = bank_server({"BANKSIM_SETTLEMENT_DELAY_S": SETTLEMENT_DELAY_S})
    server.seed(USERS, months=1)
    before = customer_money(database_url)
    server.start()
    customers = log_in(server.url, USERS)
    for rule in CHAOS_RULES:
        server.admin("POST", "/admin/chaos/rules", json=rule)

    workload = Workload(server.url, customers, median_balance=before["median_current"],
                        threads=8, duration_s=DURATION_S, payment_share=0.3)
    workload.start()
    time.sleep(DURATION_S / 2)
    server.crash()
    crashed_at = time.time()
    threading.Event().wait(0.5)  # clients keep retrying against a dead port meanwhile
    server.start()
    workload.join()

    time.sleep(1.5)  # the chaos counters are flushed to the database every 0.5 s
    unsettled = wait_for_settlement(database_url)
    rules = server.admin("GET", "/admin/chaos").json()["rules"]
    injected = sum(rule["stats"]["injected"] for rule in rules)
    audit = server.admin("GET", "/admin/audit").json()
    transfers = all_transfers(server.url, server.admin_headers)
    after = customer_money(database_url)
    operations = workload.operations
    made, payments = payments_made(database_url, operations)
    payment_violations, spent = check_payments(operations, made, payments)
    violations = payment_violations + check(operations, transfers, audit, before, after, spent)
    if unsettled:
        violations.append(f"{unsettled} payments still had a step to take")

    results = {name: sum(op.result == name for op in operations) for name in ("ok", "fail",
                                                                             "unknown")}
    statuses = Counter(row.status for row in payments.values() if row.merchant == "Jepsen")
    summary = {"database": database_url.split(":", 1)[0], "operations": len(operations),
               **results, "attempts": sum(len(op.attempts) for op in operations),
               "faults_injected_recorded": injected,
               "faults_seen_by_clients": dict(workload.client_faults),
               "crashes_survived": server.starts - 1, "crashed_at": crashed_at,
               "payments": dict(statuses), "spent_on_cards": spent,
               "violations": violations, "money_before": before, "money_after": after}
    write_history(tmp_path / "jepsen-history.json", operations, summary)
    print(f"\njepsen[{summary['database']}]: {len(operations)} operations "
          f"(ok {results['ok']}, fail {results['fail']}, unknown {results['unknown']}), "
          f"{summary['attempts']} attempts, {injected} faults injected "
          f"(clients saw {dict(workload.client_faults)}), "
          f"{summary['crashes_survived']} crash survived, payments {dict(statuses)}, "
          f"{len(violations)} violations; "
          f"history {tmp_path / 'jepsen-history.json'}")

    assert not violations, violations[:20]
    assert audit["ok"]
    assert summary["crashes_survived"] == 1
    assert results["ok"] > 50 and results["fail"] > 0, results  # the run tested something
    assert set(statuses) == {"settled", "declined", "returned"}, statuses
    assert injected > 50
    assert requests.get(server.url + "/health", timeout=5).ok


@pytest.mark.slow
@pytest.mark.jepsen
@pytest.mark.parametrize("ledger", ["safe", "unsafe"])
def test_the_checker_catches_the_teaching_ledger(bank_server, database_url, ledger):
    """The teaching switch seen by the same checker: 8 clients send large transfers (half to
    twice a typical balance) between 5 customers, so two transfers from one account often
    run at once. Check-then-act (BANKSIM_UNSAFE_LEDGER=1) lets both pass and overdraws the
    account; the real ledger refuses one. No chaos and no crash: the race alone does it."""
    server = bank_server({"BANKSIM_UNSAFE_LEDGER": "1"} if ledger == "unsafe" else None)
    server.seed(5, months=1)
    before = customer_money(database_url)
    server.start()
    workload = Workload(server.url, log_in(server.url, 5), threads=8, duration_s=8,
                        median_balance=before["median_current"], large_share=1.0)
    watcher = BalanceWatcher(database_url)
    watcher.start()
    workload.start()
    workload.join()
    audit = server.admin("GET", "/admin/audit").json()
    after = customer_money(database_url)
    violations = watcher.stop() + check(
        workload.operations, all_transfers(server.url, server.admin_headers), audit, before,
        after)
    results = Counter(op.result for op in workload.operations)
    print(f"\njepsen-teaching[{database_url.split(':', 1)[0]}, {ledger} ledger]: "
          f"{len(workload.operations)} operations ({dict(results)}), lowest balance sampled "
          f"{watcher.lowest}, at the end {after['lowest']}, {len(violations)} violations: "
          f"{violations[:3]}")

    assert results["ok"] > 20 and results["fail"] > 0, results  # it raced and was refused
    if ledger == "safe":
        assert not violations, violations
    else:
        assert any("negative" in v for v in violations), violations
    assert watcher.samples > 10
