"""Configuration read from the environment (docs/reference.md); tests pass a dict instead."""
import os

from banksim import environment


class Config:
    """Defaults for every setting; each BANKSIM_* variable overrides its field."""

    def __init__(self, environ=None):
        env = os.environ if environ is None else environ
        self.DATABASE_URL = env.get(environment.DATABASE_URL, environment.DEFAULT_DATABASE_URL)
        self.ADMIN_TOKEN = env.get(environment.ADMIN_TOKEN) or None
        self.SEED = int(env.get(environment.SEED, environment.DEFAULT_SEED))
        self.TOKEN_TTL_S = int(env.get("BANKSIM_TOKEN_TTL_S", "3600"))
        # A device session's refresh token lives this long, renewed by each refresh (30 days).
        self.REFRESH_TOKEN_TTL_S = int(env.get("BANKSIM_REFRESH_TOKEN_TTL_S", str(30 * 86400)))
        # How long a process trusts a token it verified (0: query every time). A logout
        # reaches the other processes within this time. docs/bank.md, "Auth".
        self.TOKEN_CACHE_S = float(env.get("BANKSIM_TOKEN_CACHE_S", "10"))
        # scrypt N=2**14, r=8, p=1: about 16 MiB and a few tens of ms per login on one core.
        # docs/bank.md ("Auth") has the measurement; werkzeug's default (N=2**15) costs twice.
        self.PASSWORD_HASH_METHOD = env.get("BANKSIM_PASSWORD_HASH", "scrypt:16384:8:1")
        # A read that is one statement (balance, token look-up, /health) runs outside any
        # transaction; 1 puts it back in the request session's (BEGIN ... ROLLBACK), which
        # is what benchmarks/run.py's R1 compares against. docs/reference.md, "Configuration".
        self.SINGLE_READ_TRANSACTION = env.get("BANKSIM_SINGLE_READ_TRANSACTION", "0") in (
            "1", "true", "yes")
        self.MAX_CONTENT_LENGTH = int(env.get("BANKSIM_MAX_BODY_BYTES", str(64 * 1024)))
        self.CHAOS_ENABLED = env.get("BANKSIM_CHAOS", "1") not in ("0", "false", "no")
        # Chaos limits, docs/chaos.md: rules kept at once, and requests per process a slow
        # fault may hold (empty: half the server's threads, so the rest serve /admin etc.).
        self.CHAOS_MAX_RULES = int(env.get("BANKSIM_CHAOS_MAX_RULES", "1000"))
        held = env.get("BANKSIM_CHAOS_MAX_HELD", "")
        self.CHAOS_MAX_HELD = int(held) if held.strip() else None
        self.SERVER_THREADS = None  # set by `serve` for the workers it starts
        # A fixed extra time every customer request holds its thread (web/capacity.py): the
        # bank's capacity as a setting, for scenarios whose story must not depend on the CPU.
        self.SERVICE_MS = float(env.get("BANKSIM_SERVICE_MS", "0") or 0)
        # Load shedding (worker.py): at most this many customer requests per worker queued for
        # or on a thread; past it a request is answered 503 with Retry-After at once. 0: off.
        self.MAX_IN_FLIGHT = int(env.get("BANKSIM_MAX_IN_FLIGHT", "0") or 0)
        # The JSON access log on stderr (`accesslog.py`): `serve` sets it from
        # BANKSIM_ACCESS_LOG (default on); other commands and tests log no requests.
        self.ACCESS_LOG = False
        # Failed logins per email before a lock-out, the quiet time that forgets them, and
        # the first lock-out (doubling per further failure up to the cap). docs/bank.md, "Auth".
        self.LOGIN_MAX_FAILURES = int(env.get("BANKSIM_LOGIN_MAX_FAILURES", "5"))
        self.LOGIN_WINDOW_S = int(env.get("BANKSIM_LOGIN_WINDOW_S", "900"))
        self.LOGIN_LOCKOUT_S = int(env.get("BANKSIM_LOGIN_LOCKOUT_S", "30"))
        self.LOGIN_LOCKOUT_MAX_S = int(env.get("BANKSIM_LOGIN_LOCKOUT_MAX_S", "900"))
        # Retention (docs/bank.md, "Guarantees"): a stored Idempotency-Key answer is replayed for
        # this long (Stripe: 24 h); expired rows are pruned at most once per interval per
        # process (0: never).
        self.IDEMPOTENCY_TTL_S = int(env.get("BANKSIM_IDEMPOTENCY_TTL_S", "86400"))
        self.PRUNE_INTERVAL_S = float(env.get("BANKSIM_PRUNE_INTERVAL_S", "60"))
        # Card payments settle this many seconds (on the bank's clock) after authorisation;
        # the settlement worker runs in every `serve` process (`settler.py`), which `serve`
        # turns on (SETTLEMENT_WORKER) for the processes that answer requests.
        self.SETTLEMENT_DELAY_S = _seconds(env, "BANKSIM_SETTLEMENT_DELAY_S", "5")
        self.SETTLEMENT_WORKER = False
        # The test clock (`domain/testclock.py`): /admin/clock moves the bank's time forward.
        self.TEST_CLOCK = env.get("BANKSIM_TEST_CLOCK", "0") in ("1", "true", "yes")
        # Webhooks (docs/bank.md, "Webhooks"): a delivery not answered 2xx by this many seconds
        # after its event is `failed`; each attempt's deadline; how often an idle dispatcher
        # looks for due deliveries. `serve` runs a dispatcher in each worker (WEBHOOK_DISPATCH).
        self.WEBHOOK_GIVE_UP_S = float(env.get("BANKSIM_WEBHOOK_GIVE_UP_S", "300"))
        self.WEBHOOK_TIMEOUT_S = float(env.get("BANKSIM_WEBHOOK_TIMEOUT_S", "5"))
        self.WEBHOOK_POLL_S = float(env.get("BANKSIM_WEBHOOK_POLL_S", "0.2"))
        self.WEBHOOK_DISPATCH = False
        # TEACHING MODE, never in production: the ledger's concurrency protection is off
        # (check-then-act), so concurrent requests overdraw and duplicate. docs/bank.md, "Money".
        self.UNSAFE_LEDGER = env.get("BANKSIM_UNSAFE_LEDGER", "0") in ("1", "true", "yes")

    def as_dict(self):
        return {name: getattr(self, name) for name in vars(self)}


def _seconds(env, name: str, default: str) -> float:
    """A duration in seconds, 0 or more; anything else stops the bank with the name."""
    text = env.get(name, default)
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 86400 * 366:
        raise ValueError(f"{name} must be a number of seconds from 0 to a year; got {text!r}")
    return value
