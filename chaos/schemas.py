"""The shape of a chaos rule and of the admin answers, declared once.

The same schemas validate what the admin API receives and describe it in the
host app's OpenAPI document. Checks that need more than a type (a PEP 440
specifier that parses, fault settings that fit the fault type) are validators
here too, so a bad rule is refused when it is saved, never when it would fire.
"""
import copy
import re

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range, Regexp
from marshmallow import (INCLUDE, ValidationError, post_dump, post_load, pre_load,
                         validates_schema)
from packaging.specifiers import SpecifierSet

from .fields import Flag, Number
from .faults import FAULTS, FaultSettingsError, build_fault

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
READ_ONLY = ("id", "stats", "created")  # what a rule shows and a client cannot set
# PEP 440 in its normal spelling (what `packaging` prints), and the specifiers over it that
# `packaging` accepts: the document states this pattern and `_specifier` holds a value to it,
# so a rule the pattern allows is never refused (but for a number past Python's 4,300-digit
# limit on int(), which no version has). (`===` and non-normal spellings are not.)
_RELEASE = r"[0-9]+(\.[0-9]+)*"
_SUFFIXES = r"((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?"
_LOCAL = r"(\+[a-z0-9]+(\.[a-z0-9]+)*)?"
_CLAUSE = (rf" *((==|!=) *([0-9]+!)?({_RELEASE}\.\*|{_RELEASE}{_SUFFIXES}{_LOCAL})"
           rf"|~= *([0-9]+!)?[0-9]+(\.[0-9]+)+{_SUFFIXES}"
           rf"|(<=|>=|<|>) *([0-9]+!)?{_RELEASE}{_SUFFIXES}) *")
SPECIFIER_SET = rf"^{_CLAUSE}(,{_CLAUSE})*$"


class _Specifier(Regexp):
    """A non-empty PEP 440 specifier set in SPECIFIER_SET (documented as its `pattern`)."""

    def __call__(self, value):
        if not value.strip():
            raise ValidationError("empty specifier; leave app_version out to match any version")
        if self.regex.fullmatch(value) is None:
            raise ValidationError(f"not a PEP 440 specifier set: {value[:100]!r}")
        try:
            for specifier in SpecifierSet(value):  # each version parsed now, not per request:
                specifier.contains("0")  # past 4,300 digits packaging raises ValueError
        except ValueError:  # InvalidSpecifier is one
            raise ValidationError(f"not a PEP 440 specifier set: {value[:100]!r}") from None
        return value


_specifier = _Specifier(SPECIFIER_SET)
MAX_LISTED = 1000  # users and devices a rule or the header-fault allow-list may name
MAX_MATCH_HEADERS = 8
# Header names no rule may key on, whatever the host declares: they carry credentials.
NEVER_MATCHED = frozenset({"authorization", "cookie", "proxy-authorization"})
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")

_glob = Regexp(r"^[/*]", error="a path glob starts with / or *")


class MatchSchema(Schema):
    app_version = String(validate=_specifier, metadata={"example": ">=4.2.0,<4.2.1"})
    platform = List(String(validate=Length(1, 32)), validate=Length(min=1))
    path = String(validate=[Length(1, 500), _glob], metadata={"example": "/accounts/*"})
    methods = List(String(validate=OneOf(METHODS)), validate=Length(min=1))
    cohort_percent = Number(load_default=100.0, validate=Range(0, 100))
    cohort = String(validate=Length(1, 64), metadata={
        "description": "rules with the same cohort name pick the same users"})
    users = List(String(validate=Length(1, 64)), validate=Length(1, MAX_LISTED))
    devices = List(String(validate=Length(1, 64)), validate=Length(1, MAX_LISTED), metadata={
        "description": "X-Device-Id values"})
    events = List(String(validate=Length(1, 64)), validate=Length(1, 20), metadata={
        "description": "event types a delivery fault (webhook_*) acts on; absent = any"})
    headers = Dict(keys=String(), values=String(validate=Length(1, 200)), metadata={
                       "minProperties": 1, "maxProperties": MAX_MATCH_HEADERS,
                       "description": "header name -> the exact value the request must carry; "
                                      "names from the host's allow-list only",
                       "example": {"X-Network": "cellular"}})

    @validates_schema
    def header_names(self, data, **_kwargs):
        if "headers" in data and not 1 <= len(data["headers"]) <= MAX_MATCH_HEADERS:
            raise ValidationError(f"1 to {MAX_MATCH_HEADERS} headers", "headers")
        seen = set()
        for name in data.get("headers", {}):
            if name.lower() in seen:  # one header, two values: the rule could never match
                raise ValidationError(f"{name[:64]!r} is named twice (header names are "
                                      "compared without regard to case)", "headers")
            seen.add(name.lower())
            if not HEADER_NAME.match(name):
                raise ValidationError(f"{name[:64]!r} is not a header name", "headers")
            if name.lower() in NEVER_MATCHED:
                raise ValidationError(f"a rule cannot match on {name} (it carries "
                                      "credentials)", "headers")

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
    on_s = Number(validate=Range(min=0, min_inclusive=False), metadata={"exclusiveMinimum": 0})
    off_s = Number(validate=Range(min=0))

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


def _rule_variants(rule: dict, faults: list[dict], below_app: set[str]) -> dict:
    """A rule (or a patch) as two whole-object variants: with a database fault its phase
    is before; with any other fault, before or after. (Read-only fields a client sends
    are ignored; the request schema leaves them out.)"""
    below = [f for f in faults if f["properties"]["type"]["enum"][0] in below_app]
    above = [f for f in faults if f["properties"]["type"]["enum"][0] not in below_app]
    phase = rule["properties"]["phase"]
    return {"anyOf": [  # a patch without a fault fits both
        {**rule, "properties": {**rule["properties"], "fault": {"oneOf": below},
                                "phase": {**phase, "enum": ["before"]}}},
        {**rule, "properties": {**rule["properties"], "fault": {"oneOf": above}}}]}


def document_faults(spec: dict, match_headers: tuple[str, ...] = ()) -> dict:
    """Spell out in an OpenAPI document (an apiflask spec processor step) the rules these
    schemas check in code, where apispec sees only their fields:

    - the header names `match.headers` may use: the host's `match_headers` (any case);
    - each fault type's settings: FaultSchema validates them in code, so apispec sees only
      `type`. Each type becomes one `oneOf` branch with its own required settings (one per
      shape when its Settings has SHAPES, e.g. latency's fixed, uniform, lognormal);
    - a pattern is steady (no windows) or a burst (both windows);
    - a database fault's phase is before."""
    from apispec.ext.marshmallow.openapi import OpenAPIConverter
    converter = OpenAPIConverter("3.1.0", lambda schema: None, None)
    variants = []
    for kind, fault in sorted(FAULTS.items()):
        settings = converter.schema2jsonschema(fault.Settings)
        properties = settings.get("properties", {})
        shapes = getattr(fault.Settings, "SHAPES", None)
        for shape, needs in (shapes or {None: None}).items():
            branch = {"type": "object", "additionalProperties": False,
                      "properties": {"type": {"type": "string", "enum": [kind]}},
                      "required": ["type"]}
            if needs is None:
                branch["properties"].update(properties)
                branch["required"] += settings.get("required", [])
            else:
                if shape is not None:
                    branch["properties"]["distribution"] = {"type": "string", "enum": [shape]}
                    branch["required"].append("distribution")
                branch["properties"].update({name: properties[name] for name in needs})
                branch["required"] += list(needs)
            variants.append(branch)
    schemas = spec.get("components", {}).get("schemas", {})
    allowed = [name for name in match_headers
               if HEADER_NAME.match(name) and name.lower() not in NEVER_MATCHED]
    for name in ("MatchSchema", "MatchPatch"):
        headers = schemas.get(name, {}).get("properties", {}).get("headers")
        if headers is not None:  # each letter in either case: JSON Schema has no (?i)
            caseless = "|".join("".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c
                                        for c in header) for header in allowed)
            headers["propertyNames"] = ({"pattern": f"^({caseless})$"} if allowed
                                        else {"enum": []})
    if "FaultSchema" in schemas:
        schemas["FaultSchema"] = {"description": FaultSchema.__doc__, "oneOf": variants}
    if "PatternSchema" in schemas:
        windows = schemas["PatternSchema"]["properties"]
        schemas["PatternSchema"] = {"oneOf": [
            {"type": "object", "additionalProperties": False,
             "properties": {"type": {"type": "string", "enum": ["steady"]}}},
            {"type": "object", "additionalProperties": False, "required": ["type", "on_s", "off_s"],
             "properties": {"type": {"type": "string", "enum": ["burst"]},
                            "on_s": windows["on_s"], "off_s": windows["off_s"]}}]}
    below_app = {kind for kind, fault in FAULTS.items() if getattr(fault, "below_app", False)}
    rules = [name for name in schemas if re.fullmatch(r"RuleSchema[0-9]*", name)]
    if rules:  # what a client sends: a rule without its read-only fields (ignored if sent)
        sent = copy.deepcopy(schemas[rules[0]])
        for name in READ_ONLY:
            sent["properties"].pop(name, None)
        schemas["RuleIn"] = _rule_variants(sent, variants, below_app)
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                for media in operation.get("requestBody", {}).get("content", {}).values():
                    if media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1] in rules:
                        media["schema"] = {"$ref": "#/components/schemas/RuleIn"}
    if "RulePatch" in schemas:
        schemas["RulePatch"] = _rule_variants(schemas["RulePatch"], variants, below_app)
    return spec


class RuleSchema(Schema):
    id = String(dump_only=True, metadata={"example": "rule_3kq9w2x7"})
    name = String(validate=Length(1, 200))
    enabled = Flag(load_default=True)
    match = Nested(MatchSchema)
    fault = Nested(FaultSchema, required=True)
    phase = String(load_default="before", validate=OneOf(["before", "after"]))
    probability = Number(load_default=1.0, validate=Range(0, 1))
    pattern = Nested(PatternSchema)
    ttl_s = Number(allow_none=True, validate=Range(min=0, min_inclusive=False),
                  metadata={"exclusiveMinimum": 0})
    stats = Nested(StatsSchema, dump_only=True)
    created = String(dump_only=True, metadata={"example": "2026-11-23T09:30:00Z"})

    @pre_load
    def defaults(self, data, **_kwargs):
        if not isinstance(data, dict):
            return data
        return {"match": {}, "pattern": {"type": "steady"}, **data}

    @validates_schema
    def delivery_faults_match_deliveries(self, data, **_kwargs):
        """A delivery fault matches deliveries (events, users, cohort); a request fault
        requests: a match field of the other kind would never match anything."""
        fault = FAULTS.get((data.get("fault") or {}).get("type"))
        match = data.get("match") or {}
        if getattr(fault, "for_delivery", False):
            for name in ("app_version", "platform", "path", "methods", "devices", "headers"):
                if name in match:
                    raise ValidationError({name: ["a delivery fault matches deliveries: "
                                                  "use events, users, cohort_percent"]},
                                          "match")
        elif "events" in match:
            raise ValidationError({"events": ["only a delivery fault (webhook_*) matches "
                                              "events"]}, "match")

    @validates_schema
    def database_faults_act_before(self, data, **_kwargs):
        fault = FAULTS.get((data.get("fault") or {}).get("type"))
        if getattr(fault, "below_app", False) and data.get("phase") == "after":
            raise ValidationError("a database fault acts while the request runs; "
                                  "its phase is before", "phase")


class RuleList(Schema):
    rules = List(Nested(RuleSchema))


class AllowList(Schema):
    devices = List(String(validate=Length(1, 64)), load_default=list,
                   validate=Length(max=MAX_LISTED), metadata={"description": "X-Device-Id values"})
    users = List(String(validate=Length(1, 64)), load_default=list,
                 validate=Length(max=MAX_LISTED))


class Settings(Schema):
    """Caller-chosen faults: with `header_faults` on, a request from an allowed device or
    user may ask for a fault with the X-Banksim-Fault header."""

    header_faults = Flag(required=True)
    allow = Nested(AllowList, load_default=lambda: {"devices": [], "users": []})


class ChaosStatus(Schema):
    enabled = Boolean()
    seed = Integer()
    revision = Integer()
    settings = Nested(Settings)
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


# A patch's `match`: merged key by key into the rule's; no key may be null (dropping a
# condition would widen the rule).
MatchPatch = Schema.from_dict(dict(MatchSchema._declared_fields), name="MatchPatch")


class RulePatch(Schema):
    """Any subset of a rule's fields; `match` is merged key by key (a null key is refused:
    a PATCH never widens a rule by dropping a condition).
    Documents the body only: the patched rule is validated whole, as RuleSchema."""

    name = RuleSchema._declared_fields["name"]
    enabled = Boolean()
    match = Nested(MatchPatch)
    fault = Nested(FaultSchema)
    phase = RuleSchema._declared_fields["phase"]
    probability = RuleSchema._declared_fields["probability"]
    pattern = Nested(PatternSchema)
    ttl_s = RuleSchema._declared_fields["ttl_s"]
