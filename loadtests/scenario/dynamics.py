"""The incident-dynamics keys of a scenario file: `load`, `client` and `bank` (docs/scenarios.md).

Declared apart from the rest of the schema so that the story keys (timeline, releases)
and the dynamics keys grow without touching each other:

- `load: {model: closed}` (the default: each phone thinks between journeys) or
  `{model: open, rate: R, max_phones: N}` (journeys start as a Poisson process at R a
  second on free phones; arrivals finding none are dropped); a timeline step's
  `load: {rate: R}` changes the rate from then on.
- `client`: a built-in policy's name, or a policy as data (`loadtests.phone.retry`);
  `client_policy` is its older synonym, for names only.
- `bank: {workers, threads, service_ms, max_in_flight}`: the bank's capacity as a property
  of the scenario, not of the machine (every request holds its thread `service_ms`
  longer), and optional load shedding (at most `max_in_flight` requests per worker).
"""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from chaos import fields as strict
from loadtests.phone.retry import JITTERS, POLICIES

MODELS = ("closed", "open")
MAX_RATE = 1000.0  # journeys a second; far past what one machine's phones can start


class Number(strict.Number):
    default_error_messages = {"invalid": "not a number"}


class Flag(strict.Flag):
    default_error_messages = {"invalid": "use true or false"}


def positive(maximum: float):
    return validate.Range(0, maximum, min_inclusive=False,
                          error=f"must be above 0 and at most {maximum:g}")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class LoadSchema(_Strict):
    model = fields.String(validate=validate.OneOf(MODELS))
    rate = Number(validate=positive(MAX_RATE))
    max_phones = fields.Integer(strict=True, validate=validate.Range(1, 5000))

    @validates_schema(skip_on_field_errors=True)
    def open_needs_rate(self, data, **_kw):
        if data.get("model", "closed") == "open":
            if "rate" not in data:
                raise ValidationError({"rate": ["the open model needs a rate (journeys a "
                                                "second)"]})
        else:
            extra = [key for key in ("rate", "max_phones") if key in data]
            if extra:
                raise ValidationError({key: ["only with model: open"] for key in extra})


class StepLoadSchema(_Strict):
    rate = Number(required=True, validate=positive(MAX_RATE))


class BackoffSchema(_Strict):
    base_s = Number(required=True, validate=positive(60))
    cap_s = Number(required=True, validate=positive(600))
    jitter = fields.String(validate=validate.OneOf(JITTERS))

    @validates_schema(skip_on_field_errors=True)
    def cap_above_base(self, data, **_kw):
        if data["cap_s"] < data["base_s"]:
            raise ValidationError({"cap_s": ["must be at least base_s"]})


class RetryBudgetSchema(_Strict):
    ratio = Number(required=True, validate=validate.Range(
        0, 1, error="a share of first attempts, 0 to 1"))
    window_s = Number(required=True, validate=positive(3600))


class CircuitBreakerSchema(_Strict):
    failure_ratio = Number(required=True, validate=validate.Range(
        0, 1, min_inclusive=False, error="a share of calls, above 0 and at most 1"))
    window_s = Number(required=True, validate=positive(3600))
    min_calls = fields.Integer(required=True, strict=True, validate=validate.Range(1, 1000))
    open_s = Number(required=True, validate=positive(3600))


class ClientSchema(_Strict):
    name = fields.String(validate=validate.Regexp(r"^[a-z0-9][a-z0-9._-]{0,39}$",
                                                  error="a lower-case name"))
    timeout_s = Number(validate=positive(120))
    retries = fields.Integer(strict=True, validate=validate.Range(0, 10))
    backoff = fields.Nested(BackoffSchema)
    honour_retry_after = Flag()
    retry_budget = fields.Nested(RetryBudgetSchema)
    circuit_breaker = fields.Nested(CircuitBreakerSchema)


class ClientField(fields.Field):
    """A built-in policy's name or a policy as data; the value is kept as written."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            if value not in POLICIES:
                raise ValidationError(f"a built-in policy ({', '.join(POLICIES)}) or a "
                                      f"mapping of timeout_s, retries, backoff, ...")
            return value
        if not isinstance(value, dict):
            raise ValidationError("a built-in policy's name or a mapping")
        ClientSchema().load(value)  # its ValidationError names the nested keys
        return value


class BankSchema(_Strict):
    workers = fields.Integer(strict=True, validate=validate.Range(1, 16))
    threads = fields.Integer(strict=True, validate=validate.Range(1, 64))
    service_ms = Number(validate=validate.Range(0, 10000))
    max_in_flight = fields.Integer(strict=True, validate=validate.Range(0, 10000))


def check_dynamics(errors: dict, data: dict) -> None:
    """Cross-key rules: `client` and `client_policy` agree; a step's `load` needs the
    open model."""
    client, synonym = data.get("client"), data.get("client_policy")
    if client is not None and synonym is not None and client != synonym:
        errors.setdefault("client_policy", []).append(
            "a synonym of client: give one of them, not both")
    model = (data.get("load") or {}).get("model", "closed")
    for index, step in enumerate(data.get("timeline") or ()):
        if isinstance(step, dict) and "load" in step and model != "open":
            errors.setdefault("timeline", {}).setdefault(index, {}).setdefault(
                "load", []).append("a rate change needs load.model: open (the closed "
                                   "model has no rate: --load-model closed cannot run it)")
