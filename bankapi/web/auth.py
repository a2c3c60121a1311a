"""Registration, login, logout and the bearer-token check every user endpoint uses."""
import hmac
import math
from datetime import timedelta
from functools import cache

from apiflask import APIBlueprint, HTTPTokenAuth
from flask import current_app, g, request
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain import tokens
from ..clock import utcnow
from ..db import db
from ..engine import dialect_insert
from .errors import api_error
from ..ids import new_id
from ..models import Account, LoginThrottle, User
from .schemas import LoginIn, RegisterIn, RegisterOut, TokenOut, UserOut

bp = APIBlueprint("auth", __name__, tag="Auth")
token_auth = HTTPTokenAuth(scheme="Bearer")


@token_auth.verify_token
def verify_token(token: str):
    user_id = tokens.user_for(db.session, token, token_cache()) if token else None
    if user_id:
        g.user_id = user_id
    return user_id


def token_cache() -> tokens.TokenCache:
    return current_app.extensions["banksim_tokens"]


def current_user_id() -> str:
    return g.user_id


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not-a-password", method=method)


def _password_matches(user: User | None, password: str) -> bool:
    """Check the password; for an unknown email check a dummy hash, so a miss costs as
    much as a wrong password and timing does not tell who is a customer."""
    if user is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return False
    return check_password_hash(user.password_hash, password)


def _token_body(session, user_id: str) -> dict:
    ttl = current_app.config["TOKEN_TTL_S"]
    return {"access_token": tokens.issue(session, user_id, ttl), "token_type": "Bearer",
            "expires_in": ttl, "user_id": user_id}


@bp.post("/auth/register")
@bp.input(RegisterIn)
@bp.output(RegisterOut, status_code=201)
@bp.doc(responses=[409])
def register(json_data):
    """Create a user with a current account and sign them in."""
    email = json_data["email"].lower()
    password_hash = hash_password(json_data["password"])
    with db.write() as session:
        if session.scalar(select(User.id).where(User.email == email)):
            raise api_error(409, "email_taken", "an account with this email exists", "email")
        now = utcnow()
        user = User(id=new_id("user"), email=email, name=json_data["name"],
                    password_hash=password_hash, created=now)
        session.add(user)
        session.flush()  # no ORM relationships, so the user row must exist first
        session.add(Account(id=new_id("acc"), user_id=user.id, type="current",
                            name="Current account", currency="GBP", balance=0, created=now))
        session.flush()
        body = _token_body(session, user.id)
    return {**body, "user": user}


@bp.post("/auth/login")
@bp.input(LoginIn)
@bp.output(TokenOut)
@bp.doc(responses=[401, 429])
def login(json_data):
    """Exchange email and password for a bearer token (repeated failures lock the email)."""
    email, session = json_data["email"].lower(), db.session
    _refuse_if_locked(session, email)
    user = session.scalar(select(User).where(User.email == email))
    if not _password_matches(user, json_data["password"]):
        with db.write() as session:
            _record_failure(session, email)
        raise api_error(401, "invalid_credentials", "email or password is wrong")
    with db.write() as session:
        session.execute(delete(LoginThrottle).where(LoginThrottle.email == email))
        return _token_body(session, user.id)


# Failed logins are counted per email, known or not (so a lock-out does not reveal who is a
# customer), in the database (so every gunicorn worker and host agrees). After
# LOGIN_MAX_FAILURES failures with no quiet LOGIN_WINDOW_S between them the email is locked
# for LOGIN_LOCKOUT_S, doubling with each further failure up to LOGIN_LOCKOUT_MAX_S; a locked
# email answers 429 without checking the password. A successful login clears the count.

def _refuse_if_locked(session, email: str) -> None:
    locked_until = session.scalar(select(LoginThrottle.locked_until)
                                  .where(LoginThrottle.email == email))
    session.rollback()  # end the read snapshot before any write transaction
    if locked_until is not None and locked_until > utcnow():
        wait_s = math.ceil((locked_until - utcnow()).total_seconds())
        raise api_error(429, "too_many_attempts",
                        f"too many failed logins for this email; retry in {wait_s} s",
                        headers={"Retry-After": str(wait_s)})


def _record_failure(session, email: str) -> None:
    config, now = current_app.config, utcnow()
    session.execute(dialect_insert(session, LoginThrottle)
                    .values(email=email, failures=0, last_failure_at=now)
                    .on_conflict_do_nothing(index_elements=["email"]))
    row = session.scalars(select(LoginThrottle).where(LoginThrottle.email == email)
                          .with_for_update().execution_options(populate_existing=True)).one()
    quiet_since = max(row.last_failure_at, row.locked_until or row.last_failure_at)
    if now - quiet_since > timedelta(seconds=config["LOGIN_WINDOW_S"]):
        row.failures = 0  # a quiet spell after the last failure or lock-out forgets them
    row.failures += 1
    row.last_failure_at = now
    extra = row.failures - config["LOGIN_MAX_FAILURES"]
    if extra >= 0:
        lockout_s = min(config["LOGIN_LOCKOUT_S"] * 2 ** min(extra, 20),
                        config["LOGIN_LOCKOUT_MAX_S"])
        row.locked_until = now + timedelta(seconds=lockout_s)


@bp.post("/auth/logout")
@bp.auth_required(token_auth)
@bp.output({}, status_code=204)
def logout():
    """Revoke the bearer token used for this request."""
    token = request.headers["Authorization"].split(" ", 1)[1].strip()
    with db.write() as session:
        tokens.revoke(session, token, token_cache())
    return ""


@bp.get("/me")
@bp.auth_required(token_auth)
@bp.output(UserOut)
def me():
    """The signed-in user."""
    return db.session.get(User, current_user_id())


def admin_token_matches(sent: str) -> bool:
    expected = current_app.config.get("ADMIN_TOKEN") or ""
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())
