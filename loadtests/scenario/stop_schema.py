"""The scenario keys that stop an incident, declared: `guardrails` and `preflight`.

`schema.py` nests `GuardrailSchema` and calls `stop_problems` with what it already parsed,
so a guardrail that could never work is refused by `banksim scenarios validate`, with its
path, before anything starts: an unknown key or action, a `when` that does not parse,
a window longer than the run (it could never fill), `latency_alert` without a latency
SLO, `halt_rollout` with no release to halt, `preflight: true` with no baseline before
the first fault.
"""
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from loadtests.report.thresholds import parse_threshold
from loadtests.report.guardrails import parse_when
from loadtests.scenario.guardrails import ACTIONS

DEFAULT_ARRIVALS_OVER = "15%"  # bad-release's, which every scenario starts from

MAX_GUARDRAILS = 20


def injects(chaos: dict | None) -> bool:
    """Whether a step's `chaos:` can start faults (a preset, rules, or the switch back on)."""
    return isinstance(chaos, dict) and bool({"preset", "rules", "on"} & set(chaos))


class WhenField(fields.Field):
    """An alert's name or a windowed threshold, kept as written."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            parse_when(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return value


class GuardrailSchema(Schema):
    class Meta:
        unknown = RAISE

    when = WhenField(required=True)
    then = fields.String(required=True, validate=validate.OneOf(
        ACTIONS, error="one of chaos_off, halt_rollout, abort_run"))


def stop_problems(errors: dict, data: dict, duration_s: float,
                  steps: list[tuple[float, dict]]) -> None:
    """Add the problems no single field shows to `errors` (module docstring); `steps` are
    the timeline's (seconds, step) in order."""
    for key, texts in (("thresholds", data.get("thresholds")),
                       ("guardrails", [g.get("when") if isinstance(g, dict) else None
                                       for g in data.get("guardrails") or ()])):
        for index, text in enumerate(texts if isinstance(texts, list) else ()):
            window = _window(text)
            if window is not None and window > duration_s:
                where = errors.setdefault(key, {}).setdefault(index, {})
                message = (f"a window of {window:g} s is longer than the run's "
                           f"{duration_s:g} s: no window would ever fill")
                (where.setdefault("when", []) if key == "guardrails"
                 else where.setdefault("_schema", [])).append(message)
    slo = data.get("slo") if isinstance(data.get("slo"), dict) else {}
    incident = next((s for _, s in steps if s.get("phase") == "incident"), None)
    for index, row in enumerate(data.get("guardrails") or ()):
        if not isinstance(row, dict):
            continue
        problems = errors.setdefault("guardrails", {}).setdefault(index, {})
        if str(row.get("when")).strip() == "latency_alert" and slo.get("p95_ms") is None:
            problems.setdefault("when", []).append("latency_alert needs a latency SLO "
                                                   "(slo.p95_ms)")
        if row.get("then") == "halt_rollout" and not (incident or {}).get("release"):
            problems.setdefault("then", []).append(
                "halt_rollout halts the release the step that starts `incident` publishes; "
                "this timeline publishes none")
        if not problems:
            errors["guardrails"].pop(index)
    if not errors.get("guardrails"):
        errors.pop("guardrails", None)
    first = next((at for at, step in steps if injects(step.get("chaos"))), None)
    if data.get("preflight") is True and first is not None and first <= 0:
        errors.setdefault("preflight", []).append(
            "the first chaos step is at 0 s: there is no baseline to check before it")
    elif data.get("preflight") is True and first is not None:
        from loadtests.scenario.schema import at_seconds  # schema imports this module
        over = (data.get("arrivals") if isinstance(data.get("arrivals"), dict) else {}).get(
            "over", DEFAULT_ARRIVALS_OVER)
        try:
            settled = at_seconds(over, duration_s)
        except (TypeError, ValueError):
            settled = None  # arrivals.over says what is wrong with it
        if settled is not None and first <= settled:
            errors.setdefault("preflight", []).append(
                f"the first chaos step is at {first:g} s, before the phones have all arrived "
                f"({settled:g} s, arrivals.over): the check judges the journeys that start "
                "after that, so it could never judge anything")


def _window(text) -> float | None:
    try:
        return parse_threshold(text, run_metrics=()).window_s if isinstance(text, str) else None
    except ValueError:
        return None
