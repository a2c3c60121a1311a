"""The funds guard: may this account pay this amount? One interface, two answers.

The ledger asks `guard.sufficient(account, amount)` before it moves money out of a
customer account. What an account may spend is its `available` balance: the settled
balance less the holds of its pending card payments (a pending payment's money has
already left for the holds account, `ledger.py`). `LOCKED` is the bank's real guard: the
ledger has locked the account row first (SELECT ... FOR UPDATE on PostgreSQL; the whole
transaction holds SQLite's write lock from BEGIN IMMEDIATE), so the amount it reads cannot
change before the movement commits and no two payments can spend the same pound.

The teaching mode (`BANKSIM_UNSAFE_LEDGER=1`, never in production) swaps in two
guards that split the check from the act, as naive code does: `CHECK_ONLY` runs in
a transaction that locks nothing and stops the movement as soon as the check has
passed (`FundsChecked`); `TRUSTING` then writes the movement in another
transaction without checking again. `bankapi.web.idempotency` drives the two
phases; the ledger reads the same either way.
"""
from typing import Protocol


class Account(Protocol):
    """What a guard reads of an account: the ledger hands it the locked row."""

    available: int  # the settled balance less pending holds


class FundsChecked(Exception):
    """Teaching mode only: the check passed; stop before writing anything."""


class FundsGuard(Protocol):
    def sufficient(self, account: Account, amount: int) -> bool:
        """Whether `account` may pay `amount` now."""


class LockedBalance:
    """The real guard: the account row is locked, so its available balance is the truth."""

    def sufficient(self, account: Account, amount: int) -> bool:
        return account.available >= amount


class CheckOnly:
    """Teaching phase 1: answer a decline, or stop the movement once the check passed."""

    def sufficient(self, account: Account, amount: int) -> bool:
        if account.available >= amount:
            raise FundsChecked()
        return False


class Trusting:
    """Teaching phase 2: trust a check made earlier, in another transaction (stale)."""

    def sufficient(self, account: Account, amount: int) -> bool:
        return True


LOCKED, CHECK_ONLY, TRUSTING = LockedBalance(), CheckOnly(), Trusting()
