"""Turning client JSON into a valid rule (or a 400 naming the bad field), and back.

Read-only fields (`id`, `stats`, `created`) are ignored on input, so a rule
copied from `GET /admin/chaos/rules` can be posted again as it is. A PATCH is
applied to the stored rule and the result is validated as a whole: a change
that would leave the rule inconsistent (say, a new fault type with the old
type's settings) is refused and nothing is saved. A PATCH never widens a rule by
leaving something out: `match` is merged key by key and a null key is refused (it
would drop a condition, so a rule for one device would match everyone); an empty
list or object is refused by the schema as on POST.
"""
import secrets

from apiflask import HTTPError
from marshmallow import ValidationError

from .clock import rfc3339
from .faults.base import first_error
from .models import ChaosRule
from .schemas import READ_ONLY, RuleSchema, Settings

EDITABLE = ("name", "enabled", "match", "fault", "phase", "probability", "pattern", "ttl_s")
_schema = RuleSchema()
_settings = Settings()


def new_rule_id() -> str:
    return f"rule_{secrets.token_hex(8)}"


def invalid(field: str, message: str) -> HTTPError:
    return HTTPError(400, f"{field}: {message}",
                     extra_data={"code": "validation_error", "field": field})


def not_found(what: str) -> HTTPError:
    return HTTPError(404, f"{what} not found", extra_data={"code": "not_found"})


def too_many_rules(limit: int) -> HTTPError:
    return HTTPError(409, f"at most {limit} rules; delete some first (DELETE "
                          f"/admin/chaos/rules/{{id}}) or apply fewer",
                     extra_data={"code": "too_many_rules"})


def load_rule(data, header_names: frozenset[str] = frozenset(), event_types=None) -> dict:
    """Validate a rule as sent by a client; return its normalised editable fields.
    `header_names` (lower case) are the headers the host lets `match.headers` name;
    `event_types` the host's event types (None: any), which `match.events` must name."""
    if not isinstance(data, dict):
        raise invalid("body", "a rule is a JSON object")
    try:
        rule = _schema.load({k: v for k, v in data.items() if k not in READ_ONLY})
    except ValidationError as exc:
        raise invalid(*first_error(exc.messages)) from None
    for name in rule.get("match", {}).get("headers", {}):
        if name.lower() not in header_names:
            allowed = ", ".join(sorted(header_names)) or "none"
            raise invalid("match.headers", f"{name[:64]} is not a header this server lets "
                                           f"rules match on (allowed: {allowed})")
    unknown = sorted(set(rule.get("match", {}).get("events", ())) - set(
        event_types if event_types is not None else rule.get("match", {}).get("events", ())))
    if unknown:
        raise invalid("match.events", f"unknown event type {unknown[0][:64]!r}; one of "
                                       f"{', '.join(sorted(event_types))}")
    rule.setdefault("name", f"{rule['fault']['type']} rule")
    rule.setdefault("ttl_s", None)
    return rule


def load_settings(data) -> dict:
    """Validate `PUT /admin/chaos/settings`; return the whole settings."""
    if not isinstance(data, dict):
        raise invalid("body", "the settings are a JSON object")
    try:
        return _settings.load(data)
    except ValidationError as exc:
        raise invalid(*first_error(exc.messages)) from None


def patched(current: dict, patch, header_names: frozenset[str] = frozenset(),
            event_types=None) -> dict:
    """The rule `current` with `patch` applied (`match` merged, other fields replaced)."""
    if not isinstance(patch, dict):
        raise invalid("body", "a patch is a JSON object")
    merged = {name: current[name] for name in EDITABLE}
    for name, value in patch.items():
        if name in READ_ONLY:
            continue
        if name == "match" and isinstance(value, dict):
            for key, setting in value.items():
                if setting is None:  # dropping a condition would widen the rule
                    raise invalid(f"match.{key}", "null is not a value; a PATCH cannot "
                                  "remove a condition (it would widen the rule): post a "
                                  "new rule without it and delete this one")
            merged["match"] = {**merged["match"], **value}
        else:
            merged[name] = value
    return load_rule(merged, header_names, event_types)


def to_dict(row: ChaosRule) -> dict:
    """The rule as the API shows it."""
    return {"id": row.id, "name": row.name, "enabled": row.enabled, "match": row.match,
            "fault": row.fault, "phase": row.phase, "probability": row.probability,
            "pattern": row.pattern, "ttl_s": row.ttl_s,
            "stats": {"matched": row.matched, "injected": row.injected},
            "created": rfc3339(row.created_s)}
