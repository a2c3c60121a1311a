"""What the domain says when it refuses: one exception per kind of refusal.

The web layer maps each kind to a status (`bankapi.web.errors`); the domain never
names one. `field` names the input at fault, for the error envelope.
"""


class DomainError(Exception):
    """A refusal the client can act on; `code` is the envelope's snake_case code."""

    code = "error"

    def __init__(self, message: str, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field
        if code:
            self.code = code


class NotFound(DomainError):
    """No such thing, or another user's: the two look the same (no enumeration)."""

    code = "not_found"


class Invalid(DomainError):
    """Input the schema could not judge alone (e.g. a transfer to the same account)."""

    code = "validation_error"


class Conflict(DomainError):
    """The request clashes with the current state (an email already taken)."""

    code = "conflict"


class Unprocessable(DomainError):
    """Well-formed but impossible as asked (currencies that differ); nothing is stored."""

    code = "unprocessable"


class Declined(Unprocessable):
    """A business refusal that is a final answer: stored with its Idempotency-Key and
    replayed to retries, like a success."""


class Locked(DomainError):
    """Refused for a while (too many failed logins); `retry_after_s` says how long."""

    code = "too_many_attempts"

    def __init__(self, message: str, retry_after_s: int, field: str | None = None):
        super().__init__(message, field)
        self.retry_after_s = retry_after_s
