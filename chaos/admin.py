"""The chaos admin API (/admin/chaos): kill switch, rules, presets, events, settings.

Who may use it is the host's call: `chaos.init_app(..., authorize=...)` hands in a
check of the request, and a request it refuses is 401 (rendered by the host's own
error processor, like every HTTPError). The store and the host's presets are found in
`current_app.extensions` (see `chaos.init_app`).
"""
from apiflask import APIBlueprint, HTTPError
from flask import current_app, request

from . import schemas
from .rules import not_found

bp = APIBlueprint("chaos", __name__, url_prefix="/admin/chaos", tag="Chaos")


@bp.before_request
def authorize():
    check = current_app.extensions.get("chaos.authorize")
    if check is not None and not check(request):
        raise HTTPError(401, "the chaos admin API needs the admin bearer token",
                        extra_data={"code": "unauthorized"})


def store():
    return current_app.extensions["chaos"]


def presets() -> dict:
    return current_app.extensions.get("chaos.presets", {})


@bp.get("")
@bp.output(schemas.ChaosStatus)
def status():
    """Whether chaos is on, its seed and revision, and every rule."""
    return store().status()


@bp.post("/enable")
@bp.output(schemas.ChaosStatus)
def enable():
    """Turn chaos on (the rules are kept)."""
    return store().set_enabled(True)


@bp.post("/disable")
@bp.output(schemas.ChaosStatus)
def disable():
    """Kill switch: no fault is injected until enabled again (the rules are kept)."""
    return store().set_enabled(False)


@bp.get("/settings")
@bp.output(schemas.Settings)
def settings():
    """Whether callers may choose faults (X-Banksim-Fault), and which devices and users."""
    return store().settings()


@bp.put("/settings")
@bp.input(schemas.Settings, validation=False, arg_name="values")
@bp.output(schemas.Settings)
@bp.doc(responses=[400])
def put_settings(values):
    """Replace the caller-chosen fault setting (off by default; 400 names the bad field)."""
    return store().set_settings(values)


@bp.get("/rules")
@bp.output(schemas.RuleList)
def list_rules():
    """Every rule, in the order they are tried."""
    return {"rules": store().list_rules()}


@bp.post("/rules")
@bp.input(schemas.RuleSchema, validation=False, arg_name="rule")
@bp.output(schemas.RuleSchema, status_code=201)
@bp.doc(responses=[400, 409])
def create_rule(rule):
    """Add a rule (validated; 400 names the bad field; 409 `too_many_rules` at the limit)."""
    return store().add_rule(rule)


@bp.delete("/rules")
@bp.output({}, status_code=204)
def clear_rules():
    """Remove every rule."""
    store().clear_rules()
    return ""


@bp.get("/rules/<rule_id>")
@bp.output(schemas.RuleSchema)
def get_rule(rule_id):
    """One rule, with its counters."""
    return store().get_rule(rule_id)


@bp.patch("/rules/<rule_id>")
@bp.input(schemas.RulePatch, validation=False, arg_name="patch")
@bp.output(schemas.RuleSchema)
def update_rule(rule_id, patch):
    """Change any field of a rule, e.g. {"enabled": false}; the result is re-validated."""
    return store().update_rule(rule_id, patch)


@bp.delete("/rules/<rule_id>")
@bp.output({}, status_code=204)
def delete_rule(rule_id):
    """Remove one rule."""
    store().delete_rule(rule_id)
    return ""


@bp.get("/presets")
@bp.output(schemas.PresetList)
def list_presets():
    """The named rule sets that can be added in one call."""
    return {"presets": [{"name": p.name, "description": p.description}
                        for p in presets().values()]}


@bp.post("/presets/<name>")
@bp.output(schemas.RuleList, status_code=201)
@bp.doc(responses=[404, 409])
def apply_preset(name):
    """Add a preset's rules next to the others, replacing those it added before (409
    `too_many_rules` when they would pass the rule limit)."""
    preset = presets().get(name)
    if preset is None:
        raise not_found(f"preset {name}")
    return {"rules": store().apply_preset(name, list(preset.rules))}


@bp.get("/events")
@bp.input(schemas.EventsQuery, location="query", arg_name="query")
@bp.output(schemas.EventList)
def events(query):
    """Recently injected faults, newest first."""
    return {"events": store().events(query["limit"])}
