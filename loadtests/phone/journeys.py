"""The journeys a customer lives through in the app, step by step, over HTTP.

Each journey is a function of a `MobileApp`; a step that fails after the client's
retries raises `StepFailed`, which fails the journey (see `mobile.Journey`). No Locust.
"""
import time
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

from loadtests.phone.journal import transfer_intent
from loadtests.phone.mobile import MobileClient, StepFailed
from loadtests.phone.versions import should_update

PASSWORD = "banksim"  # what `banksim seed` gives every customer
EXPIRY_MARGIN_S = 30  # renew an access token this long before the bank says it expires
MERCHANTS = (("Tesco", "groceries"), ("Sainsbury's", "groceries"), ("Pret A Manger", "eating_out"),
             ("Nando's", "eating_out"), ("TfL", "transport"), ("Uber", "transport"),
             ("Amazon", "shopping"), ("Netflix", "entertainment"), ("Boots", "personal_care"))


def _problem(condition: bool, message: str) -> str | None:
    return None if condition else message


def _token(body) -> str | None:
    return _problem(isinstance(body, dict) and isinstance(body.get("access_token"), str)
                    and body["access_token"], "no access_token")


def _release(body) -> str | None:
    return _problem(isinstance(body, dict) and isinstance(body.get("version"), str)
                    and isinstance(body.get("min_supported_version"), str), "not a release")


def _accounts(body) -> str | None:
    accounts = body.get("accounts") if isinstance(body, dict) else None
    return _problem(isinstance(accounts, list) and accounts
                    and all(str(a.get("id", "")).startswith("acc_") for a in accounts),
                    "no accounts")


def _listing(key):
    def check(body) -> str | None:
        return _problem(isinstance(body, dict) and isinstance(body.get(key), list)
                        and "next_cursor" in body, f"no {key} list")
    return check


def _answered(prefix, status):
    """The movement's answer: its id and the status it starts in (a transfer is completed
    at once; a card payment is pending until the bank settles it)."""
    def check(body) -> str | None:
        return _problem(isinstance(body, dict) and str(body.get("id", "")).startswith(prefix)
                        and body.get("status") == status, f"not a {status} {prefix}...")
    return check


class MobileApp:
    """What the app remembers between journeys: its session (an access token that expires
    and a refresh token that renews it), the current account, a pending update.

    `adoption` is the chance that an app open installs an offered release: a number, or a
    function of the release's version (the scenario's `release.adoption`)."""

    def __init__(self, client: MobileClient, rng: Random, *, seeded_users: int,
                 adoption, run_tag: str, password: str = PASSWORD,
                 record_transfer=lambda intent: None):
        self.client, self.rng = client, rng
        self.seeded_users, self.adoption, self.run_tag = seeded_users, adoption, run_tag
        self.password, self.record_transfer = password, record_transfer
        self.account_id: str | None = None
        self.pending_version: str | None = None
        self.refresh_token: str | None = None
        self.token_expires_at = 0.0  # clock() time after which the access token is stale
        self.clock = time.monotonic

    @property
    def device(self):
        return self.client.device

    def install_pending_update(self) -> None:
        """An update downloaded during app_open takes effect from the next journey."""
        if self.pending_version:
            self.device.app_version, self.pending_version = self.pending_version, None

    def forget_session_on_401(self, failure: StepFailed) -> None:
        """A 401 means the access token stopped working: the next journey renews it."""
        if failure.status == 401:
            self.client.token = None

    def keep_session(self, body: dict) -> None:
        """Store the tokens of a login or refresh answer, as the app's keychain would."""
        self.client.token = body["access_token"]
        self.refresh_token = body.get("refresh_token") or self.refresh_token
        expires_in = body.get("expires_in")
        lifetime = expires_in if isinstance(expires_in, int | float) else 3600
        self.token_expires_at = self.clock() + lifetime - EXPIRY_MARGIN_S

    def has_fresh_token(self) -> bool:
        return bool(self.client.token) and self.clock() < self.token_expires_at

    def other_customer(self) -> str:
        """user{m}@example.com for a seeded m different from this device's customer."""
        m = self.rng.randrange(1, self.seeded_users)
        return f"user{m + 1 if m >= self.device.number else m}@example.com"

    def current_account(self) -> str:
        if self.account_id is None:
            self._load_accounts()
        return self.account_id

    def _load_accounts(self) -> list[dict]:
        accounts = self.client.call("GET", "/accounts", check=_accounts).body["accounts"]
        current = [a for a in accounts if a.get("type") == "current"] or accounts
        self.account_id = current[0]["id"]
        return accounts


def login(app: MobileApp) -> None:
    """Sign in with email and password (the bank checks a deliberately slow hash)."""
    app.keep_session(app.client.call(
        "POST", "/auth/login", check=_token,
        json_body={"email": app.device.email, "password": app.password}).body)


def refresh(app: MobileApp) -> None:
    """Renew the session with the saved refresh token (single use: the answer brings the
    next one). No password, no slow hash: this is what a signed-in app does on open."""
    app.keep_session(app.client.call("POST", "/auth/refresh", check=_token,
                                     json_body={"refresh_token": app.refresh_token}).body)


def sign_in(app: MobileApp) -> None:
    """Make sure the app has a working access token before a journey: keep a fresh one,
    else refresh the saved session, else (no session, or the bank refused the refresh
    token: 401) type the password. A refresh whose answer was lost is spent on the bank's
    side, so its retry gets 401 and the app falls back to the password, as a real app does."""
    if app.has_fresh_token():
        return
    if app.refresh_token:
        try:
            return refresh(app)
        except StepFailed as failure:
            if failure.status != 401:
                raise  # the network, not the bank, failed: keep the session for next time
            app.refresh_token = None
    login(app)


def app_open(app: MobileApp) -> None:
    release = app.client.call("GET", "/app/releases/latest", check=_release,
                              params={"platform": app.device.platform}).body
    adoption = app.adoption(release["version"]) if callable(app.adoption) else app.adoption
    if should_update(app.device.app_version, release["version"],
                     release["min_supported_version"], adoption, app.rng):
        app.pending_version = release["version"]
    app.client.call("GET", "/me", check=lambda b: _problem(
        isinstance(b, dict) and b.get("email") == app.device.email, "not this customer"))
    app._load_accounts()
    app.client.call("GET", "/notifications", name="/notifications?unread=true",
                    params={"unread": "true"}, check=_listing("notifications"))


def view_transactions(app: MobileApp) -> None:
    accounts = app._load_accounts()
    account = app.rng.choice(accounts)["id"]
    app.client.call("GET", f"/accounts/{account}/transactions",
                    name="/accounts/[id]/transactions", params={"limit": 20},
                    check=_listing("transactions"))


def send_money(app: MobileApp) -> None:
    """POST /transfers once per intent: the retries reuse its Idempotency-Key."""
    client = app.client
    intent = f"int_{app.run_tag}_{client.id_rng.getrandbits(64):016x}"
    key = f"idem_{app.run_tag}_{client.id_rng.getrandbits(64):016x}"
    body = {"from_account_id": app.current_account(), "to_email": app.other_customer(),
            "amount": app.rng.randint(1, 25) * 100, "currency": "GBP", "reference": intent}
    answer, status = None, None
    try:
        answer = client.call("POST", "/transfers", json_body=body, idempotency_key=key,
                             expect=(201,), accept=((422, "insufficient_funds"),),
                             check=_answered("tfr_", "completed"))
        status = answer.status
    except StepFailed as failure:
        status = failure.status
        raise
    finally:
        acked = answer is not None and answer.status == 201
        app.record_transfer(transfer_intent(
            intent=intent, idempotency_key=key, from_email=app.device.email,
            from_account_id=body["from_account_id"], to_email=body["to_email"],
            to_account_id=answer.body.get("to_account_id") if acked else None,
            amount=body["amount"], currency=body["currency"], acked=acked,
            transfer_id=answer.body["id"] if acked else None, status=status))


def pay_merchant(app: MobileApp) -> None:
    merchant, category = app.rng.choice(MERCHANTS)
    key = f"idem_{app.run_tag}_{app.client.id_rng.getrandbits(64):016x}"
    app.client.call("POST", "/payments", idempotency_key=key, expect=(201,),
                    accept=((422, "insufficient_funds"),), check=_answered("pay_", "pending"),
                    json_body={"account_id": app.current_account(), "merchant": merchant,
                               "category": category, "amount": app.rng.randint(150, 4000)})


def check_budget(app: MobileApp) -> None:
    app.client.call("GET", "/budgets", check=lambda b: _problem(
        isinstance(b, dict) and isinstance(b.get("budgets"), list), "no budgets list"))
    app.client.call("GET", "/insights/spending", check=lambda b: _problem(
        isinstance(b, dict) and isinstance(b.get("by_category"), list), "no by_category"))


def read_notifications(app: MobileApp) -> None:
    body = app.client.call("GET", "/notifications", params={"limit": 20},
                           check=_listing("notifications")).body
    unread = [n for n in body["notifications"] if not n.get("read")]
    if unread:
        note = app.rng.choice(unread)["id"]
        app.client.call("POST", f"/notifications/{note}/read", name="/notifications/[id]/read",
                        check=lambda b: _problem(isinstance(b, dict) and b.get("read") is True,
                                                 "not marked read"))


@dataclass(frozen=True)
class JourneyKind:
    """A journey the app offers: its name (as reported), its steps, how often a user picks
    it relative to the others (Locust's task weight), and the endpoints its steps may call
    as `METHOD path-glob` (a chaos rule's `path`; tests check them against the steps)."""

    name: str
    steps: Callable[[MobileApp], None]
    weight: int
    endpoints: tuple[str, ...] = ()


# The one registry of journeys, in the order reports list them. Locust's tasks, the
# report's names, the reference's table of endpoints and the tests all derive from it;
# `login` is not picked at random: a phone without a saved session runs it first.
APP_OPEN = JourneyKind("app_open", app_open, 4, (  # also a signed-in phone's first journey
    "GET /app/releases/latest", "GET /me", "GET /accounts", "GET /notifications"))
JOURNEYS = (APP_OPEN,
            JourneyKind("view_transactions", view_transactions, 3,
                        ("GET /accounts", "GET /accounts/*/transactions")),
            JourneyKind("send_money", send_money, 2, ("GET /accounts", "POST /transfers")),
            JourneyKind("pay_merchant", pay_merchant, 2, ("GET /accounts", "POST /payments")),
            JourneyKind("check_budget", check_budget, 1,
                        ("GET /budgets", "GET /insights/spending")),
            JourneyKind("read_notifications", read_notifications, 1,
                        ("GET /notifications", "POST /notifications/*/read")))
LOGIN = JourneyKind("login", login, 0, ("POST /auth/login",))
SIGN_IN = ("POST /auth/refresh", "POST /auth/login")  # before any journey, when the token is stale
JOURNEY_NAMES = tuple(kind.name for kind in JOURNEYS)


def endpoint_table() -> str:
    """docs/reference.md's table of the endpoints each journey calls, from the registry."""
    rows = ["| journey | endpoints it calls (method and a rule's `path`) |", "|---|---|"]
    for kind in (LOGIN, *JOURNEYS):
        calls = (endpoint.split(" ", 1) for endpoint in kind.endpoints)
        rows.append(f"| `{kind.name}` | "
                    + ", ".join(f"{method} `{path}`" for method, path in calls) + " |")
    return "\n".join(rows)
