"""banksim's bank: a Flask app simulating a mobile-first digital bank."""
import warnings
from functools import cached_property

from apiflask import APIFlask

from .config import Config
from .database.db import db
from .state import BankState

# Never broken by chaos, and served on threads of their own (worker.py), so that a broken
# or overloaded bank can always be repaired and observed.
ALWAYS_ANSWERED = ("/admin", "/health", "/metrics")


class BankApp(APIFlask):
    SYNC_CACHE_MAX = 1000  # views, hooks and handlers: a few dozen; the cap is a backstop
    state: BankState  # what the app holds while it runs (state.py), set by create_app

    def ensure_sync(self, func):
        """Flask asks this of every hook and view on every request (inspect's coroutine
        check, about a dozen a request); the answer for a function never changes."""
        sync = self._sync.get(func)
        if sync is None:
            sync = super().ensure_sync(func)
            if len(self._sync) < self.SYNC_CACHE_MAX:
                self._sync[func] = sync
        return sync

    @cached_property
    def _sync(self) -> dict:
        return {}

    def _get_spec(self, *args, **kwargs):
        # apiflask registers an output schema again when apispec has already added it
        # as a nested schema; the two entries are identical, so the warning is noise.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Multiple schemas|.*already been added",
                                    UserWarning)
            return super()._get_spec(*args, **kwargs)


def create_app(test_config: dict | None = None) -> APIFlask:
    """Build the bank. `test_config` overrides settings read from the environment."""
    app = BankApp(__name__, title="banksim", version="1.0", spec_path="/openapi.json",
                   docs_path="/docs")
    app.config.from_mapping(Config().as_dict())
    app.config.update(VALIDATION_ERROR_STATUS_CODE=400, VALIDATION_ERROR_DESCRIPTION="Bad input",
                      JSON_SORT_KEYS=False, SPEC_FORMAT="json")
    if test_config:
        app.config.update(test_config)

    app.state = BankState()
    db.init_app(app)
    from .domain import tokens
    from .web import capacity, errors, inputs, metrics, retention
    app.state.tokens = tokens.TokenCache(app.config["TOKEN_CACHE_S"])
    if app.config["TEST_CLOCK"]:
        from .domain.testclock import OffsetCache
        app.state.clock = OffsetCache(app.state.engine, on_change=app.state.tokens.clear)
    errors.init_app(app)
    inputs.init_app(app)
    retention.init_app(app)
    metrics.init_app(app)
    capacity.init_app(app)  # after metrics: the hold is part of the request's duration

    from .web import (accounts, admin, admin_webhooks, auth, budgets, clock, health,
                      notifications, payments, releases, transactions, transfers, webhooks)
    clock.init_app(app)
    for module in (auth, accounts, transactions, transfers, payments, budgets,
                   notifications, releases, webhooks, admin, admin_webhooks, clock, health):
        app.register_blueprint(module.bp)
    from .web.idempotency import idempotent_operations
    from .web.openapi import complete_spec, marked_operations
    app.spec_processor(lambda spec: complete_spec(spec, idempotent_operations(app),
                                                  marked_operations(app, "without_database")))
    _install_chaos(app)
    if app.config["SETTLEMENT_WORKER"]:
        from .settler import Settler
        app.state.settler = Settler(app)
        app.state.settler.start()
    return app


def _install_chaos(app) -> None:
    if not app.config["CHAOS_ENABLED"]:
        return
    import chaos
    from chaos.store import ChaosStore

    from .domain.outbox import EVENT_TYPES
    from .domain.tokens import user_id_hint
    from .presets import MATCH_HEADERS, PRESETS
    from .web.admin import is_admin
    from .web.errors import injected_error_body
    store = ChaosStore(chaos_engine(app), seed=app.config["SEED"],
                       max_rules=app.config["CHAOS_MAX_RULES"])
    held = app.config["CHAOS_MAX_HELD"]
    if held is None:  # half the threads; the other half always serve everything else
        held = (app.config["SERVER_THREADS"] or 8) // 2
    chaos.init_app(app, store, identify=user_id_hint, presets=PRESETS.values(),
                   authorize=is_admin, error_body=injected_error_body,
                   exempt_prefixes=ALWAYS_ANSWERED, max_held=held,
                   engines=[db.engine_of(app)], match_headers=MATCH_HEADERS,
                   version_label=app.state.versions, event_types=EVENT_TYPES)
    decider = app.extensions["chaos.middleware"].decider
    app.state.delivery_chaos = lambda job: decider.plan_delivery(
        job.type, job.user_id, job.event_id, job.attempts)


def chaos_engine(app):
    """Where chaos keeps its rules and kill switch. On PostgreSQL the bank's own database:
    a faulted request's row locks never touch chaos's rows. On SQLite a file of its own
    beside the bank's (`bank.db` -> `bank-chaos.db`): SQLite has one write lock per file,
    and a `db_latency` rule on writes holds the bank's for as long as the fault lasts, so
    a kill switch stored there would queue behind the very fault it must end (and so would
    chaos's counters). In another file it never waits for the bank's writers, whatever they
    hold. An in-memory SQLite bank (no file) keeps chaos beside it."""
    from .database.engines import make_engine, sqlite_file
    engine = db.engine_of(app)
    path = sqlite_file(app.config["DATABASE_URL"])
    if engine.dialect.name != "sqlite" or path is None:
        return engine
    chaos_path = path.with_name(f"{path.stem}-chaos{path.suffix}")
    return make_engine(f"sqlite:///{chaos_path}")


def init_database(app) -> None:
    """Create tables, system accounts and the release history (idempotent)."""
    from .domain import ledger, releases
    with app.app_context():
        db.create_all()
        if app.config["CHAOS_ENABLED"]:
            app.extensions["chaos"].create_all()
        with db.write() as session:
            ledger.ensure_system_accounts(session)
            releases.seed_history(session)


def shutdown(app) -> None:
    """Stop the webhook dispatcher, the settlement worker and the chaos flusher, write the
    access log's last lines and close pooled connections (CLI commands, tests)."""
    if app.state.dispatcher is not None:
        app.state.dispatcher.stop()
    if app.state.settler is not None:
        app.state.settler.stop()
    if "chaos" in app.extensions:
        app.extensions["chaos"].close()
        if app.extensions["chaos"].engine is not db.engine_of(app):
            app.extensions["chaos"].engine.dispose()
    if app.state.access_log is not None:
        app.state.access_log.close()
    db.engine_of(app).dispose()
