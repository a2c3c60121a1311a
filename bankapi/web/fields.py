"""The bank's own field types and validators, shared by the request schemas.

Each says the rule it holds in the OpenAPI document too (a pattern, a range, a format), so
a request that the document allows is one the bank accepts.
"""
from apiflask.fields import Boolean, DateTime, Float, Integer, String
from apiflask.validators import Length, Range, Regexp
from marshmallow import ValidationError

from ..clock import naive_utc

# ISO 4217 codes a UK bank's customers meet; accounts themselves are GBP.
CURRENCIES = ("GBP", "EUR", "USD", "CHF", "JPY", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK",
              "PLN", "CZK", "HUF", "SGD", "HKD", "INR", "ZAR", "AED", "TRY")
MAX_AMOUNT = 100_000_000  # £1,000,000.00 in pence: above this is a client bug, not a payment


class Pattern(Regexp):
    """A regular expression the whole value matches, as JSON Schema's `pattern` (which
    apispec writes from it) means it: Python's `$` would also match before a final newline."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


MONTH = Pattern(r"^[0-9]{4}-(0[1-9]|1[0-2])$", error="must be YYYY-MM")
# A PEP 440 version in its normal spelling (what `packaging` prints: 4.2.0, 4.2.0rc1,
# 4.2.0.post1): every string this matches is a version, which the document can promise.
VERSION = Pattern(r"^v?([0-9]+!)?[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?"
                  r"(\.dev[0-9]+)?(\+[a-z0-9]+(\.[a-z0-9]+)*)?$",
                  error="not a PEP 440 version (e.g. 4.2.0 or 4.2.0rc1)")


class WholeNumber(Integer):
    """A JSON integer from `low` to `high` (`100.0` is 100; no 1.5, no "100", no true)."""

    def __init__(self, low: int, high: int, **kwargs):
        super().__init__(strict=True, validate=Range(min=low, max=high), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 100.0 is the integer 100 in JSON Schema; 1.5 stays refused
        return super()._deserialize(value, attr, data, **kwargs)


class Money(WholeNumber):
    """A strictly integer, positive amount in minor units."""

    def __init__(self, **kwargs):
        super().__init__(1, MAX_AMOUNT, **kwargs)


class Percent(Float):
    """A JSON number from 0 to 100 inclusive (fractions allowed: 0.5 %); no "50", no true."""

    def __init__(self, **kwargs):
        super().__init__(allow_nan=False, validate=Range(min=0, max=100), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("Not a valid number.")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(Boolean):
    """JSON true or false only (marshmallow would also take "yes" and 1)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean.")
        return value


class UtcDateTime(DateTime):
    """An RFC 3339 date-time, turned into the naive UTC the bank stores. A zone can carry
    the moment past year 1 or 9999 (`0001-01-01T00:00:00+14:00`): that is refused here,
    naming the field, rather than overflowing in a view."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return naive_utc(moment)
        except OverflowError:
            raise ValidationError("out of range once converted to UTC") from None


MAX_EMAIL = 254  # the users and login_throttle columns


def check_lowered_email(data: dict) -> None:
    """The bank stores emails lower-cased, and lowering can lengthen one (`"İ".lower()` is
    two code points): the length limit must hold for what is stored, not what was sent."""
    if len(data.get("email", "").lower()) > MAX_EMAIL:
        raise ValidationError(f"longer than {MAX_EMAIL} characters once lower-cased",
                              field_name="email")


def Text(max_len, **kw):
    return String(validate=Length(min=1, max=max_len), **kw)
