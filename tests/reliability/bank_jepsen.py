"""A Jepsen-style bank workload: concurrent transfers and card payments through faults and a
crash, then a check.

Client threads send random transfers between seeded customers (and, when asked, card
payments, some with magic references that decline or return them) and retry each one with its
Idempotency-Key until a definitive answer (201, or a 4xx other than 409/429) or until the
attempts run out. Every attempt is recorded, so a violation can be explained from the
history: an operation is `ok` (acknowledged), `fail` (definitively refused) or `unknown`
(the client never learned; it may or may not have happened, but at most once).

The checker then compares that history with the bank: acknowledged transfers appear exactly
once, refused ones never, unknown ones at most once, customer money is conserved (transfers
only move it between customers; it falls by exactly the card payments that settled and
stayed settled), every payment reached the status its reference planned, no balance is
negative, and the ledger audit (holds included) holds.
"""
import json
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from urllib.parse import urlencode

import requests
from sqlalchemy import create_engine, func, select

from bankapi.models import Account, IdempotencyKey, Payment

RETRYABLE_4XX = {"idempotency_conflict", "too_many_requests", "too_many_attempts"}
# a card payment's reference, and the status it must end in once settlement is over
PLANNED = {"": "settled", "magic:decline": "declined", "magic:return:R01": "returned"}


@dataclass
class Customer:
    email: str
    token: str
    account_id: str


@dataclass
class Operation:
    op_id: str
    sender: str
    receiver: str
    amount: int
    invoked_at: float
    attempts: list = field(default_factory=list)
    result: str = "unknown"  # ok, fail or unknown
    status: int | None = None
    code: str | None = None
    transfer_id: str | None = None  # a transfer's id, or a card payment's
    kind: str = "transfer"  # or "payment"
    magic: str = ""  # a payment's reference: one of PLANNED

    @property
    def reference(self) -> str:
        return f"jepsen {self.op_id}"


def log_in(url: str, users: int) -> list[Customer]:
    customers = []
    for n in range(1, users + 1):
        email = f"user{n}@example.com"
        login = requests.post(f"{url}/auth/login", json={"email": email, "password": "banksim"},
                              timeout=30)
        login.raise_for_status()
        token = login.json()["access_token"]
        accounts = requests.get(f"{url}/accounts", timeout=30,
                                headers={"Authorization": f"Bearer {token}"}).json()["accounts"]
        current = next(a for a in accounts if a["type"] == "current")
        customers.append(Customer(email, token, current["id"]))
    return customers


def customer_money(database_url: str) -> dict:
    """Sum, minimum and count of customer balances, read straight from the database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            total, lowest, negative = conn.execute(select(
                func.sum(Account.balance), func.min(Account.balance),
                func.count().filter(Account.balance < 0))
                .where(Account.user_id.is_not(None))).one()
            balances = conn.execute(select(Account.balance)
                                    .where(Account.user_id.is_not(None),
                                           Account.type == "current")).scalars().all()
    finally:
        engine.dispose()
    return {"total": int(total), "lowest": int(lowest), "negative": int(negative),
            "median_current": int(statistics.median(balances))}


class BalanceWatcher(threading.Thread):
    """Reads the lowest customer balance every `every_s` while a workload runs: an overdraft
    that a later transfer refills is gone from the final state but not from these samples."""

    def __init__(self, database_url: str, every_s: float = 0.2):
        super().__init__(daemon=True)
        self.database_url, self.every_s = database_url, every_s
        self.lowest, self.samples = None, 0
        self._done = threading.Event()

    def run(self) -> None:
        engine = create_engine(self.database_url)
        try:
            while not self._done.wait(self.every_s):
                with engine.connect() as conn:
                    lowest = conn.scalar(select(func.min(Account.balance))
                                         .where(Account.user_id.is_not(None)))
                self.samples += 1
                self.lowest = lowest if self.lowest is None else min(self.lowest, lowest)
        finally:
            engine.dispose()

    def stop(self) -> list[str]:
        """Stop sampling; the violation seen, if any."""
        self._done.set()
        self.join(10)
        if self.lowest is not None and self.lowest < 0:
            return [f"a balance went negative during the run (lowest sampled {self.lowest})"]
        return []


class Workload:
    """Threads of clients making transfers until `duration_s` has passed."""

    def __init__(self, url: str, customers: list[Customer], *, median_balance: int,
                 threads: int = 8, duration_s: float = 24, max_attempts: int = 60,
                 seed: int = 42, large_share: float = 0.2, payment_share: float = 0.0):
        self.url, self.customers, self.threads = url, customers, threads
        self.payment_share = payment_share
        self.large_share = large_share
        self.duration_s, self.max_attempts, self.seed = duration_s, max_attempts, seed
        self.median_balance = max(median_balance, 100)
        self.operations: list[Operation] = []
        self.client_faults = Counter()  # what the clients saw: resets, 503s, refused...
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        self.deadline = time.monotonic() + self.duration_s
        self._workers = [threading.Thread(target=self._client, args=(n,), daemon=True)
                         for n in range(self.threads)]
        for worker in self._workers:
            worker.start()

    def join(self) -> None:
        # each client stops invoking at the deadline; an operation in flight then has at most
        # max_attempts attempts of at most 5 s + 0.5 s backoff each
        for worker in self._workers:
            worker.join(timeout=self.max_attempts * 5.5 + 10)
            assert not worker.is_alive(), "a client thread did not finish"

    def _amount(self, rng: random.Random) -> int:
        if rng.random() >= self.large_share:  # everyday amounts
            return rng.randint(1, max(1, self.median_balance // 20))
        return rng.randint(self.median_balance // 2, self.median_balance * 2)  # often refused

    def _client(self, number: int) -> None:
        rng = random.Random(self.seed * 1000 + number)
        http = requests.Session()
        sequence = 0
        while time.monotonic() < self.deadline:
            sender, receiver = rng.sample(self.customers, 2)
            sequence += 1
            op = Operation(f"c{number}-{sequence}", sender.email, receiver.email,
                           self._amount(rng), time.time())
            if rng.random() < self.payment_share:
                op.kind, op.magic = "payment", rng.choice(sorted(PLANNED))
            with self._lock:
                self.operations.append(op)
            self._perform(http, rng, op, sender, receiver)

    def _perform(self, http, rng, op: Operation, sender: Customer, receiver: Customer) -> None:
        path, body = "/transfers", {
            "from_account_id": sender.account_id, "to_account_id": receiver.account_id,
            "amount": op.amount, "currency": "GBP", "reference": op.reference}
        if op.kind == "payment":
            path, body = "/payments", {"account_id": sender.account_id, "amount": op.amount,
                                       "merchant": "Jepsen", "category": "shopping",
                                       "reference": op.magic}
        for attempt in range(self.max_attempts):
            headers = {"Authorization": f"Bearer {sender.token}", "Idempotency-Key": op.op_id,
                       "X-Request-Id": f"{op.op_id}.{attempt}", "X-App-Version": "4.1.3",
                       "X-Platform": "ios"}
            try:
                response = http.post(f"{self.url}{path}", json=body, headers=headers,
                                     timeout=5)
            except requests.RequestException as exc:
                outcome = type(exc).__name__
                self._saw(outcome)
                op.attempts.append({"at": time.time(), "outcome": outcome})
                http = requests.Session()  # a fresh pool: the old connection is gone
            else:
                code = _error_code(response)
                op.attempts.append({"at": time.time(), "status": response.status_code,
                                    "code": code,
                                    "chaos_rule": response.headers.get("X-Chaos-Rule")})
                if response.status_code == 201:
                    op.result, op.status = "ok", 201
                    op.transfer_id = response.json()["id"]
                    return
                if 400 <= response.status_code < 500 and code not in RETRYABLE_4XX:
                    op.result, op.status, op.code = "fail", response.status_code, code
                    return
                self._saw(f"http_{response.status_code}")
            time.sleep(min(0.5, 0.02 * 2 ** attempt) * rng.random())

    def _saw(self, what: str) -> None:
        with self._lock:
            self.client_faults[what] += 1


def _error_code(response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def all_transfers(url: str, admin_headers: dict) -> list[dict]:
    transfers, cursor = [], None
    for _page in range(10_000):  # bounded: 10 million transfers is far beyond any test
        query = urlencode({"limit": 1000, **({"cursor": cursor} if cursor else {})})
        page = requests.get(f"{url}/admin/transfers?{query}", headers=admin_headers, timeout=30)
        page.raise_for_status()
        transfers += page.json()["transfers"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    return transfers


def wait_for_settlement(database_url: str, timeout_s: float = 30) -> int:
    """Wait until no card payment has a step still to come; how many still have one."""
    engine = create_engine(database_url)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with engine.connect() as conn:
                left = conn.scalar(select(func.count()).where(Payment.due_at.is_not(None)))
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.3)
    finally:
        engine.dispose()


def payments_made(database_url: str, operations: list[Operation]) -> tuple[dict, dict]:
    """({op_id: the payment its Idempotency-Key made, or None}, {payment id: row}) for every
    payment operation, and every payment in the bank, read straight from the database."""
    keys = [op.op_id for op in operations if op.kind == "payment"]
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            made = dict(conn.execute(select(IdempotencyKey.key, IdempotencyKey.movement_id)
                                     .where(IdempotencyKey.key.in_(keys))).all()) if keys else {}
            rows = {row.id: row for row in conn.execute(select(Payment)).all()}
    finally:
        engine.dispose()
    return made, rows


def check_payments(operations: list[Operation], made: dict, payments: dict) -> tuple[list, int]:
    """Violations among the card payments, and the money that left customers for good
    (payments settled and not returned)."""
    violations, linked = [], set()
    for op in (op for op in operations if op.kind == "payment"):
        payment_id = made.get(op.op_id)
        if op.result == "ok" and (payment_id is None or payment_id != op.transfer_id):
            violations.append(f"acknowledged payment {op.op_id} is not in the ledger")
        elif op.result == "fail" and payment_id:
            violations.append(f"refused payment {op.op_id} ({op.code}) was made")
        if payment_id:
            linked.add(payment_id)
            row = payments.get(payment_id)
            want = PLANNED[op.magic]
            if row is None or row.status != want:
                violations.append(f"payment {op.op_id} ({op.magic or 'plain'}) ended "
                                  f"{row.status if row else 'missing'}, not {want}")
    violations += [f"payment {pid} was never invoked" for pid, row in payments.items()
                   if row.merchant == "Jepsen" and pid not in linked]
    spent = sum(payments[pid].amount for pid in linked
                if pid in payments and payments[pid].status == "settled")
    return violations, spent


def check(operations: list[Operation], transfers: list[dict], audit: dict,
          money_before: dict, money_after: dict, spent_on_cards: int = 0) -> list[str]:
    """Every way the bank's state disagrees with what the clients were told."""
    operations = [op for op in operations if op.kind == "transfer"]
    ours = [t for t in transfers if t["reference"].startswith("jepsen ")]
    by_reference = Counter(t["reference"] for t in ours)
    ids = {t["id"] for t in ours}
    violations = []
    for op in operations:
        seen = by_reference[op.reference]
        if op.result == "ok" and (seen != 1 or op.transfer_id not in ids):
            violations.append(f"acknowledged {op.op_id} appears {seen} times")
        elif op.result == "fail" and seen:
            violations.append(f"refused {op.op_id} ({op.code}) appears {seen} times")
        elif op.result == "unknown" and seen > 1:
            violations.append(f"unacknowledged {op.op_id} appears {seen} times")
    invoked = {op.reference for op in operations}
    violations += [f"transfer {ref!r} was never invoked" for ref in by_reference
                   if ref not in invoked]
    if money_after["total"] != money_before["total"] - spent_on_cards:
        violations.append(f"customer money {money_before['total']} -> {money_after['total']}"
                          f" (card payments settled for good: {spent_on_cards})")
    if money_after["negative"]:
        violations.append(f"{money_after['negative']} negative balances "
                          f"(lowest {money_after['lowest']})")
    violations += [f"audit: {name} failed ({c['violations']} violations)"
                   for name, c in audit["checks"].items() if not c["ok"]]
    return violations


def write_history(path, operations: list[Operation], summary: dict) -> None:
    with open(path, "w") as handle:
        json.dump({"summary": summary, "operations": [asdict(op) for op in operations]},
                  handle, indent=1)
