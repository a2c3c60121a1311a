"""The shape of a chaos rule and of the admin answers, declared once.

The same schemas validate what the admin API receives and describe it in the
host app's OpenAPI document. Checks that need more than a type (a PEP 440
specifier that parses, fault settings that fit the fault type) are validators
here too, so a bad rule is refused when it is saved, never when it would fire.
"""
from apiflask import Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from marshmallow import (INCLUDE, ValidationError, post_dump, post_load, pre_load,
                         validates_schema)
from packaging.specifiers import SpecifierSet

from .faults import FAULTS, FaultSettingsError, build_fault

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _specifier(value: str) -> None:
    try:
        for specifier in SpecifierSet(value):  # each version parsed now, not per request:
            specifier.contains("0")  # past 4,300 digits packaging raises ValueError
    except ValueError:  # InvalidSpecifier is one
        raise ValidationError(f"not a PEP 440 specifier set: {value[:100]!r}") from None
    if not value.strip():
        raise ValidationError("empty specifier; leave app_version out to match any version")


def _glob(value: str) -> None:
    if not value.startswith(("/", "*")):
        raise ValidationError("a path glob starts with / or *")


class MatchSchema(Schema):
    app_version = String(validate=_specifier, metadata={"example": ">=4.2.0,<4.2.1"})
    platform = List(String(validate=Length(1, 32)), validate=Length(min=1))
    path = String(validate=[Length(1, 500), _glob], metadata={"example": "/accounts/*"})
    methods = List(String(validate=OneOf(METHODS)), validate=Length(min=1))
    cohort_percent = Float(load_default=100.0, validate=Range(0, 100))
    cohort = String(validate=Length(1, 64), metadata={
        "description": "rules with the same cohort name pick the same users"})
    users = List(String(validate=Length(1, 64)), validate=Length(min=1))

    @pre_load
    def normalise_case(self, data, **_kwargs):
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, convert in (("methods", str.upper), ("platform", str.lower)):
            if isinstance(data.get(name), list):
                data[name] = [convert(v) if isinstance(v, str) else v for v in data[name]]
        return data


class FaultSchema(Schema):
    """`type` plus that type's settings (e.g. latency `ms`; error `status`, `retry_after_s`)."""

    class Meta:
        unknown = INCLUDE

    type = String(required=True, validate=OneOf(sorted(FAULTS)))

    @validates_schema
    def settings_fit_type(self, data, **_kwargs):
        try:
            build_fault(data)
        except FaultSettingsError as exc:
            raise ValidationError(exc.message, exc.field) from None

    @post_load
    def normalise(self, data, **_kwargs):
        settings = {k: v for k, v in data.items() if k != "type"}
        return {"type": data["type"], **FAULTS[data["type"]].Settings().load(settings)}

    @post_dump(pass_original=True)
    def keep_settings(self, data, original, **_kwargs):
        return {**original, **data}  # the settings are not declared fields here


class PatternSchema(Schema):
    type = String(load_default="steady", validate=OneOf(["steady", "burst"]))
    on_s = Float(validate=Range(min=0, min_inclusive=False))
    off_s = Float(validate=Range(min=0))

    @validates_schema
    def windows_fit_type(self, data, **_kwargs):
        for name in ("on_s", "off_s"):
            if data.get("type") == "burst" and name not in data:
                raise ValidationError("required for a burst pattern", name)
            if data.get("type") == "steady" and name in data:
                raise ValidationError("only a burst pattern has windows", name)


class StatsSchema(Schema):
    matched = Integer()
    injected = Integer()


def document_faults(spec: dict) -> dict:
    """Spell out each fault type's settings in an OpenAPI document (an apiflask spec
    processor step): FaultSchema validates them in code, so apispec sees only `type`.
    Each type becomes one `oneOf` branch with its own required settings."""
    from apispec.ext.marshmallow.openapi import OpenAPIConverter
    converter = OpenAPIConverter("3.0.3", lambda schema: None, None)
    variants = []
    for kind, fault in sorted(FAULTS.items()):
        branch = converter.schema2jsonschema(fault.Settings)
        branch["properties"] = {"type": {"type": "string", "enum": [kind]},
                                **branch.get("properties", {})}
        branch["required"] = ["type", *branch.get("required", [])]
        branch["additionalProperties"] = False
        variants.append(branch)
    schemas = spec.get("components", {}).get("schemas", {})
    if "FaultSchema" in schemas:
        schemas["FaultSchema"] = {"description": FaultSchema.__doc__, "oneOf": variants}
    return spec


class RuleSchema(Schema):
    id = String(dump_only=True, metadata={"example": "rule_3kq9w2x7"})
    name = String(validate=Length(1, 200))
    enabled = Boolean(load_default=True)
    match = Nested(MatchSchema)
    fault = Nested(FaultSchema, required=True)
    phase = String(load_default="before", validate=OneOf(["before", "after"]))
    probability = Float(load_default=1.0, validate=Range(0, 1))
    pattern = Nested(PatternSchema)
    ttl_s = Float(allow_none=True, validate=Range(min=0, min_inclusive=False))
    stats = Nested(StatsSchema, dump_only=True)
    created = String(dump_only=True, metadata={"example": "2026-11-23T09:30:00Z"})

    @pre_load
    def defaults(self, data, **_kwargs):
        if not isinstance(data, dict):
            return data
        return {"match": {}, "pattern": {"type": "steady"}, **data}

    @validates_schema
    def database_faults_act_before(self, data, **_kwargs):
        fault = FAULTS.get((data.get("fault") or {}).get("type"))
        if getattr(fault, "below_app", False) and data.get("phase") == "after":
            raise ValidationError("a database fault acts while the request runs; "
                                  "its phase is before", "phase")


class RuleList(Schema):
    rules = List(Nested(RuleSchema))


class ChaosStatus(Schema):
    enabled = Boolean()
    seed = Integer()
    revision = Integer()
    rules = List(Nested(RuleSchema))


class Preset(Schema):
    name = String()
    description = String()


class PresetList(Schema):
    presets = List(Nested(Preset))


class Event(Schema):
    at = String()
    rule_id = String()
    fault = String()
    phase = String()
    method = String()
    path = String()
    app_version = String(allow_none=True)
    platform = String(allow_none=True)
    user_id = String(allow_none=True)
    device_id = String(allow_none=True)


class EventList(Schema):
    events = List(Nested(Event))


class EventsQuery(Schema):
    limit = Integer(load_default=100, validate=Range(1, 1000))


class RulePatch(Schema):
    """Any subset of a rule's fields; `match` is merged key by key (null removes a key)."""

    class Meta:
        unknown = INCLUDE

    name = String()
    enabled = Boolean()
    match = Dict()
    fault = Dict()
    phase = String()
    probability = Float()
    pattern = Dict()
    ttl_s = Float(allow_none=True)
