"""chaos: fault injection for any WSGI app, aimed by app version, platform and cohort.

    store = ChaosStore(engine, seed=42)   # rules live in the database, shared by processes
    store.create_all()
    chaos.init_app(app, store, identify=lambda environ: user_id_or_none,
                   presets=[Preset(...)], authorize=lambda request: ...,
                   error_body=lambda status, request_id: b"...",
                   exempt_prefixes=("/health",), engines=[app_engine],
                   match_headers=("X-Network",))

`chaos` imports nothing from the app it wraps and knows nothing of its story: the host
hands in who the user is (`identify`), its presets, who may use the admin API
(`authorize`), what its error answers look like (`error_body`) and which paths must
never be broken (`exempt_prefixes`; chaos's own /admin/chaos always is) and the
SQLAlchemy engines its requests use (`engines`: where db_latency, db_error and
db_disconnect act; chaos's own queries are never faulted, even on the same engine) and
which request headers a rule's `match.headers` may name (`match_headers`; Authorization,
Cookie and Proxy-Authorization never, even when listed).
docs/reference.md (Chaos rules) has the rule format.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .faults import ErrorBody
    from .middleware import ChaosMiddleware, Identify
    from .store import ChaosStore

# Imported when first used, so that a part that needs only a light module of the package
# (`banksim chaos ...`, an HTTP client) does not import SQLAlchemy and marshmallow for it.
_LAZY = {"ChaosMiddleware": "middleware", "ChaosStore": "store"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Preset:
    """A named set of rules the host offers (`POST /admin/chaos/presets/{name}`)."""

    name: str
    description: str
    rules: tuple[dict, ...]


def init_app(app, store: ChaosStore, identify: Identify | None = None, *,
             presets: Iterable[Preset] = (), authorize: Callable | None = None,
             error_body: ErrorBody | None = None, exempt_prefixes: Iterable[str] = (),
             engines: Iterable = (), match_headers: Iterable[str] = (),
             event_types: Iterable[str] | None = None, **options) -> None:
    """Wrap `app.wsgi_app` in the middleware and register the admin blueprint.

    `authorize(request) -> bool` guards the admin API (None: open, for tests and
    hosts that guard it themselves). `options` go to ChaosMiddleware (`refresh_s`,
    `max_held`, `version_label`); the rule limit is the store's
    (`ChaosStore(..., max_rules=1000)`). `event_types`: the events a host that sends
    webhooks delivers (delivery faults' `match.events` must name them; None: any).
    """
    from . import database
    from .admin import bp
    from .middleware import ADMIN_PREFIX, ChaosMiddleware
    database.hook(engines)
    store.allow_match_headers(match_headers)
    app.extensions["chaos"] = store
    store.event_types = None if event_types is None else tuple(event_types)
    app.extensions["chaos.presets"] = {preset.name: preset for preset in presets}
    app.extensions["chaos.authorize"] = authorize
    app.wsgi_app = app.extensions["chaos.middleware"] = ChaosMiddleware(
        app.wsgi_app, store, identify, exempt_prefixes=(ADMIN_PREFIX, *exempt_prefixes),
        error_body=error_body, **options)
    app.register_blueprint(bp)


def applied_revision(app) -> int | None:
    """The rules revision this process is applying now (None: chaos not installed or no rules
    read yet). Under gunicorn each worker answers for itself, so /health can show that a
    change reached every worker."""
    middleware = app.extensions.get("chaos.middleware")
    return middleware.decider.rules.revision if middleware else None


def header_faults_on(app) -> bool | None:
    """Whether this process lets allowed callers choose faults (X-Banksim-Fault) now: the
    setting on and the kill switch too (None: chaos not installed)."""
    middleware = app.extensions.get("chaos.middleware")
    if middleware is None:
        return None
    rules = middleware.decider.current()
    return rules.enabled and rules.callers.on


__all__ = ["ChaosMiddleware", "ChaosStore", "Preset", "applied_revision", "header_faults_on",
           "init_app"]
