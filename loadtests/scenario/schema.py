"""The shape of a scenario file (docs/scenarios.md), declared once with marshmallow.

`problems(data)` validates a scenario dict (the file merged with bad-release's defaults and
the command line's overrides) and returns every problem, one line each, named by the
field's path: `timeline[1].release.version: not a PEP 440 version`. Unknown keys are
refused everywhere. A chaos rule is checked by the bank's own rule schema (`chaos.schemas`,
the chaos library's declaration, imported offline: no bank is asked), so a rule the bank
would refuse when the step posts it is refused here, before anything starts.

The run uses each value as the file writes it (the scenario as run is the file's mapping,
not marshmallow's output), so no field converts: a number must be a finite number, not
text ("0.5") or true; a flag must be true or false, not "no".
"""
import functools
import math
import re

from chaos import fields as strict
from chaos.schemas import RuleSchema as BankRuleSchema
from marshmallow import (RAISE, Schema, ValidationError, fields, validate, validates_schema)
from packaging.version import Version

from loadtests.phone.retry import POLICIES as BUILTIN_POLICIES
from loadtests.report.thresholds import parse_threshold
from loadtests.scenario.dynamics import (BankSchema, ClientField, LoadSchema, StepLoadSchema,
                                         check_dynamics)
from loadtests.scenario.stop_schema import MAX_GUARDRAILS, GuardrailSchema, stop_problems

PLATFORMS = ("ios", "android", "web")
TARGETS = ("ios", "android", "all")  # what a release is published for
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|min)?$")
AT = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|%)?$")
THINK = re.compile(r"^(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)$")
SHARE_TOLERANCE = 0.01
POLICY_NAMES = tuple(BUILTIN_POLICIES)


def parse_duration(value) -> float:
    """Seconds from 180, "180s", "3m"; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("use seconds, e.g. 180s, 90 or 3m")
    match = DURATION.match(str(value).strip())
    if not match:
        raise ValueError("use seconds, e.g. 180s, 90 or 3m")
    seconds = float(match.group(1)) * (60 if match.group(2) in ("m", "min") else 1)
    if not 0 < seconds <= 86400:
        raise ValueError("between 1 s and a day")
    return seconds


def parse_at(value) -> tuple[float, str]:
    """(number, "s" or "%") from 45, "45s", "25%"."""
    match = AT.match(str(value).strip()) if not isinstance(value, bool) else None
    if not match:
        raise ValueError('use seconds ("45s") or a share of the duration ("25%")')
    return float(match.group(1)), match.group(2) or "s"


def parse_think(value) -> tuple[float, float]:
    """(low, high) seconds from "1-4" or a single number (finite, 0 to 60)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        low = high = float(value)
    else:
        match = THINK.match(str(value).strip()) if not isinstance(value, bool) else None
        if not match:
            raise ValueError("use MIN-MAX seconds, e.g. 1-4")
        low, high = float(match.group(1)), float(match.group(2))
    if not (math.isfinite(low) and math.isfinite(high) and 0 <= low <= high <= 60):
        raise ValueError("need 0 <= MIN <= MAX <= 60")
    return low, high


class _Parsed(fields.Field):
    """A field whose value is checked by one of the parse_* functions above (the value
    itself is kept as written, so the scenario as run reads like the file)."""

    def __init__(self, parse, **kwargs):
        super().__init__(**kwargs)
        self.parse = parse

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            self.parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return value


class Number(strict.Number):
    """A finite number as YAML writes one (never text or true/false): chaos's rule field."""

    default_error_messages = {"invalid": "not a number"}


class Flag(strict.Flag):
    """true or false, nothing else ("no" would read as true where the run tests it)."""

    default_error_messages = {"invalid": "use true or false"}


class VersionField(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError(f"not a version: write it as text, e.g. '{value}' in quotes")
        try:
            return str(Version(value))
        except ValueError:  # InvalidVersion, or a number too long for int()
            raise ValidationError(f"not a PEP 440 version: {value!r}") from None


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class SloSchema(_Strict):
    success = Number(validate=validate.Range(0, 1, min_inclusive=False, max_inclusive=False))
    p95_ms = Number(allow_none=True, validate=validate.Range(min=1))


class ShareSchema(_Strict):
    version = VersionField(required=True)
    share = Number(required=True, validate=validate.Range(0, 1, min_inclusive=False))


class ReleaseSchema(_Strict):
    version = VersionField(required=True)
    platform = fields.String(validate=validate.OneOf(TARGETS))
    notes = fields.String(validate=validate.Length(max=500))
    min_supported = VersionField()
    rollout = Number(validate=validate.Range(0, 100, min_inclusive=False))
    adoption = Number(validate=validate.Range(0, 1))


class RolloutSchema(_Strict):
    version = VersionField(required=True)
    percent = Number(required=True, validate=validate.Range(0, 100, min_inclusive=False))


@functools.cache
def _bank_rule_schema() -> BankRuleSchema:
    return BankRuleSchema()  # built once: a schema's construction costs more than a load


class ChaosRuleField(fields.Field):
    """A chaos rule as the bank's POST /admin/chaos/rules checks it (every problem, not
    only the first the bank would answer), plus the `name` that `remove` and the report
    use. The value is kept as written; the bank normalises it when the step posts it."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("a rule is a mapping: name, match, fault, ...")
        errors = {}
        try:
            _bank_rule_schema().load(value)
        except ValidationError as exc:
            errors = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        name = value.get("name")
        if not (isinstance(name, str) and name.strip()) and "name" not in errors:
            errors["name"] = ["Missing data for required field."]  # `remove` names rules
        if errors:
            raise ValidationError(errors)
        return value


class ChaosSchema(_Strict):
    preset = fields.String(validate=validate.Length(1, 200))
    rules = fields.List(ChaosRuleField(), validate=validate.Length(min=1))
    remove = fields.List(fields.String(validate=validate.Length(1, 200)),
                         validate=validate.Length(min=1))
    off = Flag(validate=validate.Equal(True))
    on = Flag(validate=validate.Equal(True))
    clear = Flag(validate=validate.Equal(True))

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def one_action(self, _data, original, **_kw):
        if isinstance(original, dict) and len(original) != 1:
            raise ValidationError("give exactly one of preset, rules, remove, off, on, clear")

    @validates_schema(skip_on_field_errors=True)
    def none_shadowed(self, data, **_kw):
        """A request meets only the first rule that matches it and draws its fault (rules
        are created in the order written): a rule after a catch-all would never act."""
        rules = data.get("rules") or []
        first = next((i for i, rule in enumerate(rules) if _catches_all(rule)), None)
        if first is not None and first < len(rules) - 1:
            raise ValidationError({"rules": {i: [
                f"never acts: rules[{first}] ({rules[first]['name']}) before it takes every "
                "request; put the narrower rules first"] for i in range(first + 1, len(rules))}})


def _catches_all(rule: dict) -> bool:
    """Matches every request, always draws its fault, for good (no ttl, no bursts)."""
    return (rule.get("enabled", True) and not rule.get("match")
            and rule.get("probability", 1) >= 1 and "ttl_s" not in rule
            and (rule.get("pattern") or {}).get("type", "steady") == "steady")


class StepSchema(_Strict):
    at = _Parsed(parse_at, required=True)
    phase = fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_-]{0,39}$",
                                                   error="a lower-case name, e.g. incident"))
    release = fields.Nested(ReleaseSchema)
    rollout = fields.Nested(RolloutSchema)
    chaos = fields.Nested(ChaosSchema)
    load = fields.Nested(StepLoadSchema)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def does_something(self, _data, original, **_kw):
        if isinstance(original, dict) and not set(original) & {"phase", "release", "rollout",
                                                               "chaos", "load"}:
            raise ValidationError("a step needs phase, release, rollout, chaos or load")


class ArrivalsSchema(_Strict):
    over = _Parsed(parse_at)
    signed_in = Number(validate=validate.Range(0, 1))


class ThresholdField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parse_threshold(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return text


class ScenarioSchema(_Strict):
    name = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9._-]{0,63}$", error="lower-case letters, digits, '.', '_' or '-'"))
    description = fields.String(validate=validate.Length(max=300))
    duration = _Parsed(parse_duration)
    users = fields.Integer(strict=True, validate=validate.Range(1, 2000))
    think = _Parsed(parse_think)
    arrivals = fields.Nested(ArrivalsSchema)
    slo = fields.Nested(SloSchema)
    client_policy = fields.String(validate=validate.OneOf(POLICY_NAMES))
    platforms = fields.Dict(keys=fields.String(validate=validate.OneOf(PLATFORMS)),
                            values=Number(validate=validate.Range(0, 1)),
                            validate=validate.Length(min=1))
    population = fields.List(fields.Nested(ShareSchema), validate=validate.Length(min=1))
    wifi = fields.Dict(keys=fields.String(validate=validate.OneOf(PLATFORMS)),
                       values=Number(validate=validate.Range(0, 1)))
    releases = fields.List(fields.Nested(ReleaseSchema))
    timeline = fields.List(fields.Nested(StepSchema), required=True)
    thresholds = fields.List(ThresholdField())
    halt_on_alert = Flag()
    load = fields.Nested(LoadSchema)
    client = ClientField()
    bank = fields.Nested(BankSchema)
    guardrails = fields.List(fields.Nested(GuardrailSchema), validate=validate.Length(
        max=MAX_GUARDRAILS, error="at most {max} guardrails: each is judged every second"))
    preflight = Flag()
    webhooks = Flag()  # a receiver for the customers' webhooks, checked against the ledger

    @validates_schema(skip_on_field_errors=False)
    def consistent(self, data, **_kw):
        errors: dict = {}
        check_dynamics(errors, data)
        _shares(errors, "platforms", list((data.get("platforms") or {}).values()))
        population = data.get("population") or []
        _shares(errors, "population", [row.get("share", 0) for row in population])
        versions = [row.get("version") for row in population]
        if len(set(versions)) != len(versions):
            errors.setdefault("population", []).append("a version is listed twice")
        _steps_fit(errors, data)
        if errors:
            raise ValidationError(errors)


def _shares(errors: dict, key: str, shares: list[float]) -> None:
    if shares and abs(sum(shares) - 1) > SHARE_TOLERANCE:
        errors.setdefault(key, []).append(f"shares must add up to 1, not {sum(shares):g}")


def _steps_fit(errors: dict, data: dict) -> None:
    """Every `at` inside the run, in order; only versions published can be rolled out."""
    try:
        duration = parse_duration(data.get("duration"))
    except ValueError:
        return
    over = (data.get("arrivals") or {}).get("over")
    try:
        if over is not None and at_seconds(over, duration) > duration:
            errors.setdefault("arrivals", {})["over"] = [
                f"{at_seconds(over, duration):g} s is past the run's duration of {duration:g} s"]
    except ValueError:
        pass
    previous, published = -1.0, {r.get("version") for r in data.get("releases") or ()}
    timed = []
    for index, step in enumerate(data.get("timeline") or ()):
        try:
            at_s = at_seconds(step.get("at"), duration)
        except ValueError:
            continue
        timed.append((at_s, step))
        problems = []
        if at_s > duration:
            problems.append(f"{at_s:g} s is past the run's duration of {duration:g} s")
        if at_s < previous:
            problems.append("steps must be in time order")
        previous = max(previous, at_s)
        if problems:
            errors.setdefault("timeline", {}).setdefault(index, {})["at"] = problems
        published.add((step.get("release") or {}).get("version"))
        rollout = step.get("rollout") or {}
        if rollout.get("version") and rollout["version"] not in published:
            errors.setdefault("timeline", {}).setdefault(index, {}).setdefault(
                "rollout", {})["version"] = ["not published by this or an earlier step"]
    stop_problems(errors, data, duration, timed)


def at_seconds(value, duration_s: float) -> float:
    number, unit = parse_at(value)
    return round(duration_s * number / 100, 3) if unit == "%" else number


def problems(data) -> list[str]:
    """Every problem of a scenario dict, one line each, `path: message`; [] when valid."""
    if not isinstance(data, dict):
        return ["the file must hold a mapping of keys (name, timeline, ...)"]
    try:
        ScenarioSchema().load(data)
    except ValidationError as exc:
        return sorted(set(_flatten(exc.messages, "")), key=_path_order)
    return []


def _flatten(messages, path: str):
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, _join(path, key))
    elif isinstance(messages, list | tuple):
        for message in messages:
            yield from _flatten(message, path)
    else:
        text = "unknown key" if messages == "Unknown field." else str(messages)
        yield f"{path or 'scenario'}: {text}"


def _join(path: str, key) -> str:
    if key == "_schema":
        return path
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key in ("key", "value") and path:  # a Dict field's key or value error
        return path
    return f"{path}.{key}" if path else str(key)


def _path_order(line: str):
    path = line.split(":", 1)[0]
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"[\[\].]+", path)]
