"""Play the planned events in time order, the way the bank would have answered them.

Every customer balance is tracked while the events are replayed; a card payment
or transfer that would leave its account at zero or below is skipped (declined),
so no balance is ever negative and every current account, which starts with a
deposit, ends with money in it.

Ledger rows follow the bank's rules (`bankapi.domain.ledger`): a transfer is one
movement of two entries, `transfer_out` and `transfer_in`, plus a `transfers`
row. Top-ups and card payments are settled with the system accounts once a
day: each customer entry belongs to that day's settlement movement
(`stl_topup_YYYYMMDD`, `stl_card_YYYYMMDD`), which one system entry at 23:59:59
balances (`external` pays out the day's top-ups, `merchants` receives the day's
card payments). That halves the rows a million payments need and keeps the
audit's invariants: every movement sums to zero and every balance is the sum of
its entries. No `payments` rows are written for history: nothing reads them
back, and a settlement movement has no single payment to name.

Timestamps are written as the text SQLAlchemy stores for SQLite datetimes
(`Calendar.text_tables`), which `bankapi.domain.history.post_history` accepts as is.
"""
from collections import defaultdict
from random import Random

from bankapi.domain.history import EntryRow, TransferRow
from bankapi.domain.ledger import system_account_id
from bankapi.domain import notifications as texts

from .calendar import DAY_S, Calendar
from .people import Population, new_id
from .plan import CARD, TOPUP

RECENT_DAYS = 7  # notifications are kept for events this close to the end
NOTIFICATIONS_PER_USER = 3


class History:
    """The rows of the seeded history: ledger entries, transfers, notifications, budgets."""

    def __init__(self):
        self.entries: list[EntryRow] = []
        self.transfers: list[TransferRow] = []
        self.notifications: list[dict] = []
        self.budgets: list[dict] = []
        self.skipped = 0  # planned events declined for lack of funds
        self.customer_entries = 0


def simulate(rng: Random, events: list[tuple], population: Population,
             calendar: Calendar, currency: str = "GBP") -> History:
    history = History()
    entries, transfers = history.entries, history.transfers
    add, random = entries.append, rng.random
    # Entry and transfer ids rise in time order by random steps: as opaque as random ids, but
    # appended to the primary-key index instead of splitting its pages at random (inserts ~20%
    # faster at a million rows), and cheaper to draw than 64 fresh bits each.
    step = (1 << 62) // (2 * len(events) + 2 * len(calendar.days) + 1)
    tx, tfr = rng.getrandbits(62), rng.getrandbits(62)
    external, merchants = (system_account_id("external", currency),
                           system_account_id("merchants", currency))
    accounts = [a["id"] for a in population.accounts]
    owner = population.account_owner
    user_ids = [c.user_id for c in population.customers]
    balance = [0] * len(accounts)
    day_text, clock_text = calendar.text_tables()
    tags = [d.strftime("%Y%m%d") for d in calendar.days]
    topup_movement = [f"stl_topup_{tag}" for tag in tags]
    card_movement = [f"stl_card_{tag}" for tag in tags]
    topup_total, card_total = [0] * len(tags), [0] * len(tags)
    tracked = {c.index for c in population.customers if c.budget_categories}
    spend: dict[tuple[int, str], int] = defaultdict(int)
    recent_from, recent = calendar.seconds - RECENT_DAYS * DAY_S, []
    for second, op, acc, other, amount, text, category in events:
        day = second // DAY_S
        if op == TOPUP:
            balance[acc] += amount
            tx += 1 + int(random() * step)
            add(EntryRow(f"tx_{tx:016x}", accounts[acc], topup_movement[day], amount, currency,
                 "topup", text, None, None, external,
                 day_text[day] + clock_text[second - day * DAY_S]))
            topup_total[day] += amount
            if second >= recent_from:
                recent.append((owner[acc], second, *texts.topped_up(amount)))
            continue
        if balance[acc] <= amount:
            history.skipped += 1
            continue
        balance[acc] -= amount
        created = day_text[day] + clock_text[second - day * DAY_S]
        tx += 1 + int(random() * step)
        if op == CARD:
            add(EntryRow(f"tx_{tx:016x}", accounts[acc], card_movement[day], -amount, currency,
                 "card_payment", text, category, text, merchants, created, "settled"))
            card_total[day] += amount
            if owner[acc] in tracked:
                spend[owner[acc], category] += amount
            if second >= recent_from:
                recent.append((owner[acc], second, *texts.card_payment(amount, text)))
            continue
        balance[other] += amount
        tfr += 1 + int(random() * step)
        movement = f"tfr_{tfr:016x}"
        add(EntryRow(f"tx_{tx:016x}", accounts[acc], movement, -amount, currency,
             "transfer_out", text, None, None, accounts[other], created))
        tx += 1 + int(random() * step)
        add(EntryRow(f"tx_{tx:016x}", accounts[other], movement, amount, currency,
             "transfer_in", text, None, None, accounts[acc], created))
        transfers.append(TransferRow(movement, user_ids[owner[acc]], accounts[acc], accounts[other],
                          amount, currency, text, "completed", created))
        if second >= recent_from:
            recent.append((owner[acc], second, *texts.money_sent(amount, text)))
            recent.append((owner[other], second, *texts.money_received(amount, text)))
    history.customer_entries = len(entries)
    last_second = day_text, clock_text[DAY_S - 1]
    _settle(rng, history, calendar, external, merchants, currency, last_second,
            (topup_total, topup_movement), (card_total, card_movement), (tx, step))
    _notifications(rng, history, population, calendar, recent)
    _budgets(rng, history, population, calendar, spend)
    return history


def _settle(rng, history, calendar, external, merchants, currency, last_second, topups,
            cards, ids) -> None:
    """One system entry per day and kind balances that day's settlement movement."""
    (day_text, end_of_day), (tx, step) = last_second, ids
    for day, date in enumerate(calendar.days):
        at, label = day_text[day] + end_of_day, date.isoformat()
        if topups[0][day]:
            tx += 1 + rng.randrange(step)
            history.entries.append(EntryRow(f"tx_{tx:016x}", external, topups[1][day],
                                    -topups[0][day], currency, "topup",
                                    f"Top-ups settled {label}", None, None, None, at))
        if cards[0][day]:
            tx += 1 + rng.randrange(step)
            history.entries.append(EntryRow(f"tx_{tx:016x}", merchants, cards[1][day],
                                    cards[0][day], currency, "card_payment",
                                    f"Card payments settled {label}", None, None, None, at,
                                    "settled"))


def _notifications(rng, history, population, calendar, recent) -> None:
    """The last few events of each customer's final week; only the newest is unread."""
    latest: dict[int, list] = defaultdict(list)
    for note in recent:
        latest[note[0]].append(note)
    for index in sorted(latest):
        notes = latest[index][-NOTIFICATIONS_PER_USER:]
        for position, (_, second, type_, title, body) in enumerate(notes):
            history.notifications.append({
                "id": new_id(rng, "ntf"), "user_id": population.customers[index].user_id,
                "type": type_, "title": title, "body": body,
                "read": position < len(notes) - 1, "created": calendar.moment(second)})


def _budgets(rng, history, population, calendar, spend) -> None:
    """A limit a little above what the customer usually spends, rounded to £10."""
    months = max(1.0, len(calendar.days) / 30.4)
    for c in population.customers:
        for category in c.budget_categories:
            usual = spend.get((c.index, category), 0) / months
            limit = max(2_000, -(-int(usual * 1.1) // 1_000) * 1_000)
            history.budgets.append({"id": new_id(rng, "bud"), "user_id": c.user_id,
                                    "category": category, "limit": limit,
                                    "created": c.created})
