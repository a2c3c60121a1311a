"""Request and response schemas: one declaration validates input and documents the API.

apiflask turns these marshmallow schemas into `/openapi.json`. Inputs reject unknown
fields, wrong types (no "100" for 100, no 1.5 pence, no booleans) and out-of-range
values, naming the field in a 400.
"""
from apiflask import Schema
from apiflask.fields import (Boolean, DateTime, Dict, Email, Float, Integer, List, Nested,
                             String)
from apiflask.validators import Length, OneOf, Range
from flask import request
from marshmallow import ValidationError, pre_load, validates_schema

from .dumping import Out
from .fields import (CURRENCIES, MONTH, VERSION, Money, Pattern, Percent, StrictBoolean, Text,
                     MAX_EMAIL, UtcDateTime, WholeNumber, check_lowered_email)
from .pagination import CURSOR

from ..domain import magic, releases, settlement, testclock
from ..domain.budgeting import CATEGORIES
from ..domain.ledger import KINDS

# --- inputs -------------------------------------------------------------------------

class RegisterIn(Schema):
    email = Email(required=True, validate=Length(max=MAX_EMAIL))
    password = String(required=True, validate=Length(min=8, max=128))
    name = Text(200, required=True)

    @validates_schema
    def email_fits_once_lowered(self, data, **_kw):
        check_lowered_email(data)


class LoginIn(Schema):
    email = String(required=True, validate=Length(min=1, max=MAX_EMAIL))
    password = String(required=True, validate=Length(min=1, max=128))

    @validates_schema
    def email_fits_once_lowered(self, data, **_kw):
        check_lowered_email(data)


class RefreshIn(Schema):
    refresh_token = String(required=True, validate=Length(min=1, max=256))


class AccountIn(Schema):
    type = String(required=True, validate=OneOf(["savings"]))
    name = Text(100, required=True)


class TopupIn(Schema):
    amount = Money(required=True)


class TransferIn(Schema):
    from_account_id = Text(40, required=True)
    to_account_id = Text(40)
    to_email = Email(validate=Length(max=254))
    amount = Money(required=True)
    currency = String(required=True, validate=OneOf(CURRENCIES))
    reference = String(load_default="", validate=Length(max=140))
    EXACTLY_ONE_OF = ("to_account_id", "to_email")  # checked below; openapi.py documents it

    @validates_schema
    def one_destination(self, data, **_kw):
        if sum(name in data for name in self.EXACTLY_ONE_OF) != 1:
            raise ValidationError("give exactly one of to_account_id or to_email",
                                  field_name="to_account_id")


class PaymentIn(Schema):
    account_id = Text(40, required=True)
    amount = Money(required=True)
    merchant = Text(100, required=True)
    category = String(required=True, validate=OneOf(CATEGORIES))
    reference = String(load_default="", validate=[
        Length(max=140), Pattern(magic.PATTERN, error="not a magic value (docs/reference.md, "
                                 "Magic values): magic:decline, magic:slow, magic:timeout or "
                                 "magic:return:R<two digits>")], metadata={
        "description": "free text; a magic value (`magic:...`) forces an outcome"})


class BudgetIn(Schema):
    limit = Money(required=True)


class PageQuery(Schema):
    limit = Integer(load_default=30, validate=Range(min=1, max=100))
    cursor = String(validate=Pattern(CURSOR, error="not a cursor from this API"), metadata={
        "description": "the `next_cursor` of the previous page"})


class TransactionQuery(PageQuery):
    since = UtcDateTime()
    before = UtcDateTime()
    category = String(validate=OneOf(CATEGORIES))


class NotificationQuery(PageQuery):
    unread = Boolean()


class MonthQuery(Schema):
    month = String(validate=MONTH)


class PlatformQuery(Schema):
    platform = String(validate=OneOf(releases.PLATFORMS))


class DevicePlatformQuery(Schema):
    """The device's platform: `?platform=`, else the `X-Platform` header every app sends."""

    platform = String(required=True, validate=OneOf(releases.PLATFORMS), metadata={
        "description": "the device's platform; if absent, the X-Platform header's value"})

    @pre_load
    def from_header(self, data, **_kw):
        sent = request.headers.get("X-Platform")
        if data.get("platform") or sent is None:  # an empty ?platform= defers to the header
            return data
        return {**data, "platform": sent}


class CategoryPath(Schema):
    category = String(required=True, validate=OneOf(CATEGORIES))


class AdminTransfersQuery(PageQuery):
    limit = Integer(load_default=500, validate=Range(min=1, max=1000))


class ReleaseIn(Schema):
    version = String(required=True, validate=[Length(min=1, max=40), VERSION])
    platform = String(load_default="all", validate=OneOf(releases.TARGETS))
    notes = String(load_default="", validate=Length(max=1000))
    min_supported_version = String(validate=[Length(min=1, max=40), VERSION])
    rollout_percent = Percent(load_default=100.0, metadata={
        "description": "share of devices offered it (sticky per device); default 100"})


class VersionPath(Schema):
    version = String(required=True, validate=VERSION)


class ClockAdvanceIn(Schema):
    seconds = WholeNumber(1, testclock.MAX_ADVANCE_S, required=True, metadata={
        "description": "how far to move the bank's time forward (at most 400 days)"})


class RolloutIn(Schema):
    rollout_percent = Percent()
    halted = StrictBoolean()
    AT_LEAST_ONE_OF = ("rollout_percent", "halted")  # checked below; openapi.py documents it

    @validates_schema
    def something_to_change(self, data, **_kw):
        if not any(name in data for name in self.AT_LEAST_ONE_OF):
            raise ValidationError("give rollout_percent, halted or both",
                                  field_name="rollout_percent")


# --- outputs ------------------------------------------------------------------------

class Stamp(DateTime):
    """RFC 3339 UTC to the second, `2026-11-23T09:30:00Z`; documented as `date-time`.

    (A `DateTime(format=...)` would be documented by apispec as `format: null`, which is
    not a valid OpenAPI schema.)
    """

    dumps_the_value_alone = True  # dumping.Out may call _serialize(value, None, None)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


class UserOut(Out):
    id = String()
    email = String()
    name = String()
    created = Stamp()


class TokenOut(Out):
    access_token = String()
    token_type = String()
    expires_in = Integer()
    user_id = String()
    refresh_token = String(metadata={"description": "single use: POST /auth/refresh"})


class RegisterOut(TokenOut):
    user = Nested(UserOut)


class AccountOut(Out):
    id = String()
    type = String()
    name = String()
    currency = String()
    balance = Integer(attribute="settled_balance", metadata={
        "description": "settled: pending card payments not yet taken off"})
    available = Integer(attribute="balance", metadata={
        "description": "what the account may spend: balance less pending holds"})
    held = Integer(metadata={"description": "the pending card payments' holds"})
    created = Stamp()


class AccountsOut(Out):
    accounts = List(Nested(AccountOut))


class BalanceOut(Out):
    account_id = String()
    balance = Integer(metadata={"description": "settled"})
    available = Integer(metadata={"description": "balance less pending holds"})
    currency = String()
    spend_today = Integer()


class StatusStep(Out):
    status = String(metadata={"enum": ["completed", *settlement.STATUSES]})
    at = Stamp()


class TransactionOut(Out):
    id = String()
    account_id = String()
    amount = Integer(metadata={"description": "signed: negative is money out"})
    currency = String()
    kind = String(metadata={"enum": list(KINDS)})
    description = String()
    category = String(allow_none=True)
    merchant = String(allow_none=True)
    counterparty_account_id = String(allow_none=True)
    created = Stamp()
    status = String(metadata={"enum": ["completed", *settlement.STATUSES], "description":
                              "top-ups and transfers are completed; a card payment is "
                              "pending, then settled, declined or returned"})
    status_history = List(Nested(StatusStep), metadata={"description": "oldest first"})


class TopupOut(Out):
    transaction = Nested(TransactionOut)


class TransactionsOut(Out):
    transactions = List(Nested(TransactionOut))
    next_cursor = String(allow_none=True)


class TransferOut(Out):
    id = String()
    from_account_id = String()
    to_account_id = String()
    amount = Integer()
    currency = String()
    reference = String()
    status = String()
    created = Stamp()


class AdminTransfersOut(Out):
    transfers = List(Nested(TransferOut))
    next_cursor = String(allow_none=True)


class PaymentOut(Out):
    id = String()
    account_id = String()
    amount = Integer()
    currency = String()
    merchant = String()
    category = String()
    reference = String()
    status = String(metadata={"enum": list(settlement.STATUSES)})
    return_code = String(allow_none=True, metadata={"description": "set once returned"})
    created = Stamp()


class BudgetOut(Out):
    id = String()
    category = String()
    limit = Integer()
    spent = Integer()
    remaining = Integer()
    status = String(metadata={"enum": ["ok", "warning", "exceeded"]})


class BudgetsOut(Out):
    month = String()
    budgets = List(Nested(BudgetOut))


class CategorySpend(Out):
    category = String()
    spent = Integer()
    count = Integer()


class SpendingOut(Out):
    month = String()
    total_spent = Integer()
    by_category = List(Nested(CategorySpend))


class NotificationOut(Out):
    id = String()
    type = String()
    title = String()
    body = String()
    created = Stamp()
    read = Boolean()


class NotificationsOut(Out):
    notifications = List(Nested(NotificationOut))
    next_cursor = String(allow_none=True)
    unread_count = Integer()


class UpdatedOut(Out):
    updated = Integer()


class ReleaseOut(Out):
    version = String()
    platform = String()
    released_at = Stamp()
    min_supported_version = String()
    notes = String()
    rollout_percent = Float()
    halted = Boolean()


class ReleasesOut(Out):
    releases = List(Nested(ReleaseOut))


class HealthOut(Out):
    status = String()
    version = String()
    worker = Integer(metadata={"description": "process id of the server process that answered"})
    chaos_revision = Integer(allow_none=True, metadata={
        "description": "chaos rules revision this process applies (null: chaos off)"})
    chaos_header_faults = Boolean(allow_none=True, metadata={
        "description": "whether this process applies X-Banksim-Fault from allowed devices "
                       "and users now (the setting and chaos both on; null: chaos off)"})
    test_clock = Boolean(metadata={"description": "the test clock is on (BANKSIM_TEST_CLOCK)"})


class ClockOut(Out):
    now = Stamp(metadata={"description": "the bank's time"})
    offset_s = Integer(metadata={"description": "seconds the bank's time is ahead of real"})


class AuditOut(Out):
    ok = Boolean()
    checks = Dict()
