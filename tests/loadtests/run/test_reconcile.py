import pytest

from loadtests.run.reconcile import mismatch, reconcile

CHECKS = ("entries_sum_to_zero", "movements_balanced", "balances_match_entries",
          "no_negative_balances", "idempotency_keys_once", "budget_spent_matches")


def audit(**failing):
    checks = {name: {"ok": name not in failing, "violations": failing.get(name, 0)}
              for name in CHECKS}
    return {"ok": not failing, "checks": checks}


def intent(ref, acked=True, transfer_id=None, status=201):
    return {"intent": ref, "from_account_id": "acc_1", "to_email": "user2@example.com",
            "amount": 100, "acked": acked, "transfer_id": transfer_id or f"tfr_{ref}",
            "status": status}


def row(transfer_id, reference):
    return {"id": transfer_id, "reference": reference, "from_account_id": "acc_1",
            "to_account_id": "acc_2", "amount": 100, "currency": "GBP"}


def test_clean_run_is_ok():
    ledger = [row("tfr_a", "a"), row("tfr_b", "b")]
    result = reconcile(audit(), ledger, [intent("a"), intent("b")])
    assert result["ok"] and result["lost_acknowledged_transfers"] == 0
    assert result["duplicate_transfers"] == 0 and result["acknowledged_transfers"] == 2


def test_acknowledged_but_missing_is_lost():
    result = reconcile(audit(), [row("tfr_a", "a")], [intent("a"), intent("b")])
    assert not result["ok"] and result["lost_acknowledged_transfers"] == 1


def test_two_transfers_for_one_intent_is_a_duplicate():
    ledger = [row("tfr_a", "a"), row("tfr_a2", "a")]
    result = reconcile(audit(), ledger, [intent("a")])
    assert not result["ok"] and result["duplicate_transfers"] == 1


def test_unknown_outcomes_are_counted_not_judged():
    ledger = [row("tfr_a", "a")]
    unknown = intent("a", acked=False, transfer_id=None, status=None)
    result = reconcile(audit(), ledger, [unknown])
    assert result["ok"] and result["unknown_outcome_transfers"] == 1
    assert result["unknown_outcome_applied"] == 1


def test_a_failed_audit_fails_integrity():
    result = reconcile(audit(no_negative_balances=2), [], [])
    assert not result["ok"] and result["negative_balances"] == 2
    assert result["ledger_balanced"] is True


def test_references_outside_this_run_are_not_duplicates():
    ledger = [row("tfr_s1", "Rent"), row("tfr_s2", "Rent"),
              row("tfr_a", "a")]
    assert reconcile(audit(), ledger, [intent("a")])["duplicate_transfers"] == 0


# Recorded from a run (ids shortened): user3 sends 1,200 to user9; user9 also sent money,
# from acc_9, so the run knows user9's current account.
SENT = {"intent": "int_t1_aa", "idempotency_key": "idem_t1_aa", "from_email": "user3@example.com",
        "from_account_id": "acc_3", "to_email": "user9@example.com", "to_account_id": "acc_9",
        "amount": 1200, "currency": "GBP", "acked": True, "transfer_id": "tfr_aa",
        "status": 201}
BY_PAYEE = {**SENT, "intent": "int_t1_bb", "idempotency_key": "idem_t1_bb",
            "from_email": "user9@example.com", "from_account_id": "acc_9",
            "to_email": "user5@example.com", "to_account_id": "acc_5", "transfer_id": "tfr_bb"}
ROW = {"id": "tfr_aa", "from_account_id": "acc_3", "to_account_id": "acc_9", "amount": 1200,
       "currency": "GBP", "reference": "int_t1_aa", "created": "2026-11-30T12:00:00Z"}
ROW_BB = {**ROW, "id": "tfr_bb", "from_account_id": "acc_9", "to_account_id": "acc_5",
          "reference": "int_t1_bb"}


def test_the_transfer_as_acknowledged_is_not_a_mismatch():
    result = reconcile(audit(), [ROW, ROW_BB], [SENT, BY_PAYEE])
    assert result["ok"] and result["mismatched_acknowledged_transfers"] == 0


@pytest.mark.parametrize("landed", [
    {"amount": 120},                    # the wrong amount
    {"to_account_id": "acc_5"},         # another customer was paid
    {"to_account_id": "acc_x"},         # an account that is not the payee's
    {"from_account_id": "acc_9"},       # taken from someone else
    {"currency": "EUR"},
    {"reference": "int_t1_zz"},         # the id belongs to another transfer
], ids=["amount", "payee", "unknown-account", "payer", "currency", "reference"])
def test_an_acknowledged_transfer_that_landed_differently_is_a_violation(landed):
    result = reconcile(audit(), [{**ROW, **landed}, ROW_BB], [SENT, BY_PAYEE])
    assert not result["ok"] and result["mismatched_acknowledged_transfers"] == 1
    assert result["lost_acknowledged_transfers"] == 0


def test_a_wrong_payee_shows_even_when_the_bank_acknowledged_it():
    told = {**SENT, "to_account_id": "acc_5"}  # the 201 itself named user5's account
    result = reconcile(audit(), [{**ROW, "to_account_id": "acc_5"}, ROW_BB], [told, BY_PAYEE])
    assert result["mismatched_acknowledged_transfers"] == 1


def test_mismatch_names_what_differs():
    problems = mismatch(SENT, {**ROW, "amount": 120}, {"user9@example.com": "acc_9"}, {})
    assert problems == ["amount 120, expected 1200"]
