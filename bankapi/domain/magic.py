"""Magic payment references: sandbox values that force an outcome, always on.

A QA team needs a declined, a returned or a late payment on demand, without an admin call
and without chaos rules, as card and ACH sandboxes give them. A payment's `reference` picks
it (docs/reference.md, "Magic values"); any other reference settles normally. A reference
that starts with `magic:` but is none of these is refused (400), so a typo never passes for
an ordinary payment.
"""
import re
import time
from typing import NamedTuple

PREFIX = "magic:"
DECLINE, SLOW, TIMEOUT = "magic:decline", "magic:slow", "magic:timeout"
RETURN = re.compile(r"^magic:return:(R[0-9]{2})$")  # ACH return codes, R01 insufficient funds
SLOW_FACTOR = 10          # `magic:slow` settles after this many settlement delays
MERCHANT_HANG_S = 30.0    # `magic:timeout`: how long the merchant takes to answer
# What a reference may be: anything that does not start with `magic:`, or a magic value.
PATTERN = r"^(?!magic:)[\s\S]*$|^magic:(decline|slow|timeout|return:R[0-9]{2})$"


class Plan(NamedTuple):
    outcome: str               # settled, declined or returned: where the payment ends
    delay_factor: int = 1      # times the settlement delay before its first step
    return_code: str | None = None


def plan(reference: str) -> Plan:
    """The outcome a reference plans; an ordinary reference settles."""
    if reference == DECLINE:
        return Plan("declined")
    if reference == SLOW:
        return Plan("settled", SLOW_FACTOR)
    returned = RETURN.match(reference or "")
    if returned:
        return Plan("returned", return_code=returned.group(1))
    return Plan("settled")


def merchant_hang_s(reference: str) -> float:
    """How long the merchant keeps the payment waiting before it answers (0: at once)."""
    return MERCHANT_HANG_S if reference == TIMEOUT else 0.0


def wait_for_merchant(reference: str) -> None:
    """Keep the request waiting as the merchant would, before anything is written (a
    write transaction held for 30 s would stop every other writer on SQLite)."""
    hang = merchant_hang_s(reference)
    if hang:
        time.sleep(hang)
