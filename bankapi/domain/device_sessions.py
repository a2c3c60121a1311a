"""Device sessions: one per sign-in (a login or a registration), kept alive by refresh
tokens so a phone need not send its password again.

A session holds one refresh token at a time, `rt_<43 random characters>`, stored only as
its SHA-256 digest with the user and an expiry (BANKSIM_REFRESH_TOKEN_TTL_S, 30 days).
`rotate` swaps that digest for a new token's in one conditional
`UPDATE ... WHERE refresh_hash = <old> AND expires_at > now RETURNING`: of two refreshes
racing with one token, only the first matches (on PostgreSQL the second waits for the
first's row lock, then finds the digest changed), so a refresh token works once. Each
rotation also renews the session's expiry. Refreshing costs a digest and an indexed
update, never a password hash.

A rotated-out token's digest is kept (`SpentRefreshToken`, until the expiry the session
had then). When a spent token is sent again, someone holds a copy: the thief who copied
it and the owner who rotated it are indistinguishable, so, as OAuth's security best
current practice says, the whole session is ended (its refresh token and every access
token it issued), whichever of the two sent it. Two refreshes racing with one token are
such a reuse too: the first gets new tokens, the session then ends.

The access tokens a session issues carry its id (`tokens.session_id`), so `end` (logout)
revokes the session's refresh token and every access token it issued.
"""
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..ids import new_id
from ..models import DeviceSession, SpentRefreshToken, Token, User
from . import tokens

LOOKUP_CHUNK = 1000  # emails per IN (...) query


class Rotated(NamedTuple):
    session_id: str
    user_id: str
    refresh_token: str


def new_refresh_token() -> str:
    return f"rt_{secrets.token_urlsafe(32)}"


def _row(user_id: str, refresh_token: str, ttl_s: int, now: datetime) -> dict:
    return {"id": new_id("ses"), "user_id": user_id, "refresh_hash": tokens.digest(refresh_token),
            "expires_at": now + timedelta(seconds=ttl_s), "created": now}


def start(session: Session, user_id: str, refresh_ttl_s: int) -> tuple[str, str]:
    """Begin a session for the user; return (session id, refresh token)."""
    refresh_token = new_refresh_token()
    row = _row(user_id, refresh_token, refresh_ttl_s, utcnow())
    session.execute(insert(DeviceSession), [row])
    return row["id"], refresh_token


def start_many(session: Session, user_ids: list[str], refresh_ttl_s: int) -> list[str]:
    """One session per user in one bulk insert; the refresh tokens, in `user_ids`' order."""
    now = utcnow()
    refresh_tokens = [new_refresh_token() for _ in user_ids]
    rows = [_row(user_id, token, refresh_ttl_s, now)
            for user_id, token in zip(user_ids, refresh_tokens, strict=True)]
    if rows:
        session.execute(insert(DeviceSession), rows)
    return refresh_tokens


def rotate(session: Session, refresh_token: str, refresh_ttl_s: int,
           cache: tokens.TokenCache = tokens.NO_CACHE) -> Rotated | None:
    """Replace a live refresh token by a new one (in the caller's write transaction);
    None if it is unknown, already used, revoked or expired. A token already used ends
    its session: the caller must commit even when this returns None."""
    now = utcnow()
    new_token, old_hash = new_refresh_token(), tokens.digest(refresh_token)
    expires_at = now + timedelta(seconds=refresh_ttl_s)
    row = session.execute(
        update(DeviceSession)
        .where(DeviceSession.refresh_hash == old_hash, DeviceSession.expires_at > now)
        .values(refresh_hash=tokens.digest(new_token), expires_at=expires_at)
        .returning(DeviceSession.id, DeviceSession.user_id)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        reused = session.scalar(select(SpentRefreshToken.session_id)
                                .where(SpentRefreshToken.refresh_hash == old_hash))
        if reused is not None:
            _end_session(session, reused, cache)
        return None
    session.execute(insert(SpentRefreshToken), [{"refresh_hash": old_hash, "session_id": row.id,
                                                 "expires_at": expires_at}])
    return Rotated(row.id, row.user_id, new_token)


def end(session: Session, access_token: str, cache: tokens.TokenCache = tokens.NO_CACHE) -> None:
    """Logout: revoke the access token and, when a session issued it, end that session
    (its refresh token and every access token it issued)."""
    session_id = session.scalar(select(Token.session_id)
                                .where(Token.token_hash == tokens.digest(access_token)))
    if session_id is not None:  # the session row before any token, as a reuse ends one
        _end_session(session, session_id, cache)
    tokens.revoke(session, access_token, cache)  # a token no session issued (older database)


def _end_session(session: Session, session_id: str, cache: tokens.TokenCache) -> None:
    """Delete the session, its spent refresh tokens and every access token it issued."""
    # The session row first: on PostgreSQL this waits for a refresh of the same session
    # that is committing, so the access token it issued is seen, and deleted, below.
    session.execute(delete(DeviceSession).where(DeviceSession.id == session_id)
                    .execution_options(synchronize_session=False))
    session.execute(delete(SpentRefreshToken).where(SpentRefreshToken.session_id == session_id)
                    .execution_options(synchronize_session=False))
    gone = session.execute(delete(Token).where(Token.session_id == session_id)
                           .returning(Token.token_hash)
                           .execution_options(synchronize_session=False)).scalars().all()
    for key in gone:
        cache.drop(key)


def user_ids_by_email(session: Session, emails: list[str]) -> list[tuple[str, str]]:
    """(email, user id) for those of `emails` that belong to a user, in `emails`' order."""
    found = {}
    for start_at in range(0, len(emails), LOOKUP_CHUNK):
        chunk = emails[start_at:start_at + LOOKUP_CHUNK]
        found.update(session.execute(select(User.email, User.id)
                                     .where(User.email.in_(chunk))).all())
    return [(email, found[email]) for email in emails if email in found]
