"""Registration, login, refresh, logout and the bearer-token check every user endpoint
uses. Login and registration each start a device session (`domain/device_sessions.py`)."""
import hmac
from functools import cache

from apiflask import APIBlueprint, HTTPTokenAuth
from flask import current_app, g, request
from sqlalchemy import bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..database.db import db
from ..domain import customers, device_sessions, throttle, tokens
from ..models import User
from .errors import api_error
from .schemas import LoginIn, RefreshIn, RegisterIn, RegisterOut, TokenOut, UserOut

bp = APIBlueprint("auth", __name__, tag="Auth")
token_auth = HTTPTokenAuth(scheme="Bearer")


@token_auth.verify_token
def verify_token(token: str):
    """A cache hit costs a digest and a dict look-up; a miss one statement on its own
    connection (`db.reading()`), so a request that only reads opens no transaction."""
    if not token:
        return None
    key, cache = tokens.digest(token), token_cache()
    user_id = cache.get(key)
    if user_id is None:
        with db.reading() as connection:
            user_id = tokens.look_up(connection, key, cache)
    if user_id:
        g.user_id = user_id
    return user_id


def token_cache() -> tokens.TokenCache:
    return current_app.state.tokens


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


def _token_body(session, user_id: str, session_id: str, refresh_token: str) -> dict:
    ttl = current_app.config["TOKEN_TTL_S"]
    return {"access_token": tokens.issue(session, user_id, ttl, session_id),
            "token_type": "Bearer", "expires_in": ttl, "user_id": user_id,
            "refresh_token": refresh_token}


def _sign_in(session, user_id: str) -> dict:
    """Start a device session and answer its first access and refresh tokens."""
    session_id, refresh_token = device_sessions.start(session, user_id,
                                               current_app.config["REFRESH_TOKEN_TTL_S"])
    return _token_body(session, user_id, session_id, refresh_token)


@bp.post("/auth/register")
@bp.input(RegisterIn)
@bp.output(RegisterOut, status_code=201)
@bp.doc(responses=[409])
def register(json_data):
    """Create a user with a current account and sign them in."""
    email = json_data["email"].lower()
    password_hash = hash_password(json_data["password"])
    with db.write() as session:
        user = customers.register(session, email, json_data["name"], password_hash)
        body = _sign_in(session, user["id"])
    return {**body, "user": user}


@bp.post("/auth/login")
@bp.input(LoginIn)
@bp.output(TokenOut)
@bp.doc(responses=[401, 429])
def login(json_data):
    """Exchange email and password for a bearer token (repeated failures lock the email)."""
    email, policy = json_data["email"].lower(), throttle.Policy.from_config(current_app.config)
    throttle.check_not_locked(db.session, email)
    with db.write() as session:
        throttle.reserve_attempt(session, email, policy)
    user = db.session.scalar(select(User).where(User.email == email))
    if not _password_matches(user, json_data["password"]):
        raise api_error(401, "invalid_credentials", "email or password is wrong")
    with db.write() as session:
        throttle.clear(session, email)
        return _sign_in(session, user.id)


@bp.post("/auth/refresh")
@bp.input(RefreshIn)
@bp.output(TokenOut)
@bp.doc(responses=[401])
def refresh(json_data):
    """Exchange a refresh token for a new access token and a new refresh token in the same
    session; the refresh token sent stops working (single use), and sending it again ends
    the session. No password hash."""
    with db.write() as session:  # committed either way: a reused token ends its session
        rotated = device_sessions.rotate(session, json_data["refresh_token"],
                                  current_app.config["REFRESH_TOKEN_TTL_S"], token_cache())
        if rotated is not None:
            return _token_body(session, rotated.user_id, rotated.session_id,
                               rotated.refresh_token)
    raise api_error(401, "invalid_refresh_token",
                    "the refresh token is unknown, used, revoked or expired (a used one "
                    "also ends its session)")


@bp.post("/auth/logout")
@bp.auth_required(token_auth)
@bp.output({}, status_code=204)
def logout():
    """Revoke the bearer token used for this request and end its device session (the
    session's refresh token and other access tokens stop working too)."""
    token = request.headers["Authorization"].split(" ", 1)[1].strip()
    with db.write() as session:
        device_sessions.end(session, token, token_cache())
    return ""


_USERS = User.__table__
ME_QUERY = select(_USERS.c.id, _USERS.c.email, _USERS.c.name, _USERS.c.created).where(
    _USERS.c.id == bindparam("user_id"))


@bp.get("/me")
@bp.auth_required(token_auth)
@bp.output(UserOut)
def me():
    """The signed-in user."""
    with db.reading() as connection:  # one prebuilt statement, a plain row
        return connection.execute(ME_QUERY, {"user_id": current_user_id()}).one()



def admin_token_matches(sent: str) -> bool:
    expected = current_app.config.get("ADMIN_TOKEN") or ""
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())
