"""SQLAlchemy models. Money is an integer number of minor units (pence).

`LedgerEntry` rows (the API calls them transactions) are written only by
`bankapi.domain.ledger`; every movement's entries sum to zero.
"""
from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer,
                        String, Text, UniqueConstraint, false, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(DateTime)


class Token(Base):
    """A bearer token; only its SHA-256 is stored, so a database leak leaks no tokens."""
    __tablename__ = "tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # for pruning
    # The device session that issued it (NULL in a database an older banksim wrote:
    # `add_missing_columns` adds the column, and its index, to such a database).
    session_id: Mapped[str | None] = mapped_column(String(40), index=True)


class DeviceSession(Base):
    """One device sign-in: its current refresh token, stored only as a SHA-256 digest.
    Refreshing replaces the digest (single use); logout or expiry ends the session."""
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # for pruning
    created: Mapped[datetime] = mapped_column(DateTime)


class SpentRefreshToken(Base):
    """A refresh token that a rotation replaced, by digest, kept while its session could
    still be alive: one sent again means the token was copied, so the session is ended
    (`sessions.rotate`)."""
    __tablename__ = "spent_refresh_tokens"
    refresh_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # for pruning


class Account(Base):
    """A customer account (current, savings) or a system account (user_id NULL)."""
    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    # The ledger balance: the sum of the account's entries. A pending card payment's money
    # has already left it for the holds account, so for a customer this is what the API
    # calls `available`; `held` is the sum of its pending payments, and the API's
    # `balance` (settled) is the two added up (`settled_balance`).
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    created: Mapped[datetime] = mapped_column(DateTime)

    @property
    def settled_balance(self) -> int:
        return self.balance + (self.held or 0)


class LedgerEntry(Base):
    __tablename__ = "transactions"
    __table_args__ = (Index("ix_transactions_account_created", "account_id", "created", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    movement_id: Mapped[str] = mapped_column(String(40), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(32))
    merchant: Mapped[str | None] = mapped_column(String(100))
    counterparty_account_id: Mapped[str | None] = mapped_column(String(40))
    created: Mapped[datetime] = mapped_column(DateTime)
    # The movement's status as the customer sees it: `completed` for top-ups and transfers,
    # a card payment's own status (pending, settled, declined, returned) on its entries.
    status: Mapped[str] = mapped_column(String(16), default="completed",
                                        server_default=text("'completed'"))


class StatusChange(Base):
    """One step of a movement's status history (`domain/settlement.change_status`)."""
    __tablename__ = "status_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    movement_id: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime)


class Transfer(Base):
    __tablename__ = "transfers"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    from_account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    to_account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(140))
    status: Mapped[str] = mapped_column(String(16))
    created: Mapped[datetime] = mapped_column(DateTime)


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    merchant: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    created: Mapped[datetime] = mapped_column(DateTime)
    # Settlement (`domain/settlement.py`): the reference (magic values plan the outcome),
    # the outcome planned at authorisation, the return code once returned, and when the
    # next step is due on the bank's clock (NULL once the payment is final).
    reference: Mapped[str] = mapped_column(String(140), default="", server_default=text("''"))
    outcome: Mapped[str | None] = mapped_column(String(16))
    return_code: Mapped[str | None] = mapped_column(String(8))
    due_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class BankClock(Base):
    """The test clock's offset, one row shared by every server process."""
    __tablename__ = "bank_clock"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset_s: Mapped[int] = mapped_column(BigInteger, default=0)


class IdempotencyKey(Base):
    """The stored answer to the first request made with a key, per user."""
    __tablename__ = "idempotency_keys"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    movement_id: Mapped[str | None] = mapped_column(String(40), index=True)
    created: Mapped[datetime] = mapped_column(DateTime, index=True)  # for pruning


class MonthlySpend(Base):
    """Card spending per user, month and category, kept by the ledger for budgets."""
    __tablename__ = "monthly_spend"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    spent: Mapped[int] = mapped_column(BigInteger, default=0)
    count: Mapped[int] = mapped_column(Integer, default=0)


class Budget(Base):
    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("user_id", "category"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(32))
    limit: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[datetime] = mapped_column(DateTime)


class BudgetAlert(Base):
    """Remembers that a warning or exceeded notification went out this month."""
    __tablename__ = "budget_alerts"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), primary_key=True)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(500))
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(DateTime)


class Release(Base):
    __tablename__ = "releases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(40))
    platform: Mapped[str] = mapped_column(String(16))  # ios, android or all
    released_at: Mapped[datetime] = mapped_column(DateTime)
    min_supported_version: Mapped[str] = mapped_column(String(40))
    notes: Mapped[str] = mapped_column(String(1000), default="")
    # Staged rollout (docs/scenarios.md): the share of devices offered it, and the halt switch.
    # Server defaults, so `add_missing_columns` can add them to an older database's rows.
    rollout_percent: Mapped[float] = mapped_column(Float, default=100.0,
                                                   server_default=text("100"))
    halted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LoginThrottle(Base):
    """Recent failed logins for one email (known or not), shared by every worker."""
    __tablename__ = "login_throttle"
    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # for pruning
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)


class Webhook(Base):
    """A URL that receives a customer's events (user_id NULL: an admin's, every customer's).
    The secret signs each delivery; it is shown once, when the webhook is created."""
    __tablename__ = "webhooks"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[str] = mapped_column(String(200))  # event types, comma separated
    secret: Mapped[str] = mapped_column(String(80))
    created: Mapped[datetime] = mapped_column(DateTime)


class WebhookEvent(Base):
    """The outbox: one row per event, written in the transaction of the movement that
    caused it. `sequence` counts an account's events from 1 (unique per account)."""
    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("account_id", "sequence"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(40), index=True)
    account_id: Mapped[str] = mapped_column(String(40))
    sequence: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[str] = mapped_column(Text)  # JSON
    created: Mapped[datetime] = mapped_column(DateTime, index=True)


class WebhookDelivery(Base):
    """One event on its way to one webhook: pending until delivered or given up (failed).
    A dispatcher claims a due row by setting `lease_until`; no other claims it before then."""
    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "event_id"),
                      Index("ix_webhook_deliveries_due", "state", "next_attempt_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(String(40), index=True)
    event_id: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16))  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    held: Mapped[bool] = mapped_column(Boolean, default=False)  # the next attempt follows a hold
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    latency_ms: Mapped[float | None] = mapped_column(Float)  # event created -> delivered
    created: Mapped[datetime] = mapped_column(DateTime)
