from loadtests.reconcile import reconcile

CHECKS = ("entries_sum_to_zero", "movements_balanced", "balances_match_entries",
          "no_negative_balances", "idempotency_keys_once", "budget_spent_matches")


def audit(**failing):
    checks = {name: {"ok": name not in failing, "violations": failing.get(name, 0)}
              for name in CHECKS}
    return {"ok": not failing, "checks": checks}


def intent(ref, acked=True, transfer_id=None, status=201):
    return {"intent": ref, "acked": acked, "transfer_id": transfer_id or f"tfr_{ref}",
            "status": status}


def test_clean_run_is_ok():
    ledger = [{"id": "tfr_a", "reference": "a"}, {"id": "tfr_b", "reference": "b"}]
    result = reconcile(audit(), ledger, [intent("a"), intent("b")])
    assert result["ok"] and result["lost_acknowledged_transfers"] == 0
    assert result["duplicate_transfers"] == 0 and result["acknowledged_transfers"] == 2


def test_acknowledged_but_missing_is_lost():
    result = reconcile(audit(), [{"id": "tfr_a", "reference": "a"}], [intent("a"), intent("b")])
    assert not result["ok"] and result["lost_acknowledged_transfers"] == 1


def test_two_transfers_for_one_intent_is_a_duplicate():
    ledger = [{"id": "tfr_a", "reference": "a"}, {"id": "tfr_a2", "reference": "a"}]
    result = reconcile(audit(), ledger, [intent("a")])
    assert not result["ok"] and result["duplicate_transfers"] == 1


def test_unknown_outcomes_are_counted_not_judged():
    ledger = [{"id": "tfr_a", "reference": "a"}]
    unknown = intent("a", acked=False, transfer_id=None, status=None)
    result = reconcile(audit(), ledger, [unknown])
    assert result["ok"] and result["unknown_outcome_transfers"] == 1
    assert result["unknown_outcome_applied"] == 1


def test_a_failed_audit_fails_integrity():
    result = reconcile(audit(no_negative_balances=2), [], [])
    assert not result["ok"] and result["negative_balances"] == 2
    assert result["ledger_balanced"] is True


def test_references_outside_this_run_are_not_duplicates():
    ledger = [{"id": "tfr_s1", "reference": "Rent"}, {"id": "tfr_s2", "reference": "Rent"},
              {"id": "tfr_a", "reference": "a"}]
    assert reconcile(audit(), ledger, [intent("a")])["duplicate_transfers"] == 0
