"""chaos: fault injection for any WSGI app, aimed by app version, platform and cohort.

    store = ChaosStore(engine, seed=42)   # rules live in the database, shared by processes
    store.create_all()
    chaos.init_app(app, store, identify=lambda environ: user_id_or_none)

`chaos` imports nothing from the app it wraps; see SPEC section 4 for the rule format.
"""
from .middleware import ChaosMiddleware, Identify
from .store import ChaosStore


def init_app(app, store: ChaosStore, identify: Identify | None = None, **options) -> None:
    """Wrap `app.wsgi_app` in the middleware and register the admin blueprint.

    `options` go to ChaosMiddleware (e.g. `exempt_prefixes`, `refresh_s`, `max_held`,
    `version_label`); the rule limit is the store's (`ChaosStore(..., max_rules=1000)`).
    """
    from .admin import bp
    app.extensions["chaos"] = store
    app.wsgi_app = app.extensions["chaos.middleware"] = ChaosMiddleware(
        app.wsgi_app, store, identify, **options)
    app.register_blueprint(bp)


def applied_revision(app) -> int | None:
    """The rules revision this process is applying now (None: chaos not installed or no rules
    read yet). Under gunicorn each worker answers for itself, so /health can show that a
    change reached every worker."""
    middleware = app.extensions.get("chaos.middleware")
    return middleware.engine.rules.revision if middleware else None


__all__ = ["ChaosMiddleware", "ChaosStore", "applied_revision", "init_app"]
