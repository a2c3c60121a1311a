"""Bearer tokens: `user_<id>.<secret>`, stored only as a SHA-256 digest.

The user id in front lets the chaos layer pick a user's cohort without a
database query; it grants nothing by itself, since only the digest lookup
authenticates.

Every authenticated request checks its token, so each process remembers the tokens it
verified in the last few seconds (`TokenCache`, BANKSIM_TOKEN_CACHE_S, default 10 s):
a hit costs a dict lookup instead of a query. Expiry is still exact; a logout takes
effect at once in the process that served it and within the cache time in the others.

Why 10 s: a phone opens the app every few seconds (1-4 s of thought between journeys at
the incident's defaults, plus the journey), so with 2 s most journeys began with a miss,
and at 1,000 phones the token look-ups were 7 % of the bank's CPU. 10 s keeps a
logged-out token alive in the other workers for at most 10 s, far less than the minutes
a bearer token commonly lives unchecked.
"""
import hashlib
import secrets
import threading
import time
from datetime import timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..models import Token


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, user_id: str, ttl_s: int, session_id: str | None = None) -> str:
    """A new access token, belonging to the device session `session_id` (`sessions`)."""
    token = f"{user_id}.{secrets.token_urlsafe(32)}"
    session.add(Token(token_hash=digest(token), user_id=user_id,
                      expires_at=utcnow() + timedelta(seconds=ttl_s), session_id=session_id))
    return token


class TokenCache:
    """Tokens this process verified lately: digest -> (user id, monotonic time to re-check).

    An entry lives `ttl_s` seconds or until its token expires, whichever is sooner; at
    `max_entries` the cache starts afresh rather than tracking recency. ttl_s=0 turns it off.
    """

    def __init__(self, ttl_s: float, max_entries: int = 10_000, clock=time.monotonic):
        self.ttl_s, self.max_entries, self.clock = ttl_s, max_entries, clock
        self._entries: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None or entry[1] <= self.clock():
            return None
        return entry[0]

    def put(self, key: str, user_id: str, seconds_left: float) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries = {}
            self._entries[key] = (user_id, self.clock() + min(self.ttl_s, seconds_left))

    def drop(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries = {}


NO_CACHE = TokenCache(0)


def user_for(session: Session | Connection, token: str,
             cache: TokenCache = NO_CACHE) -> str | None:
    """The user id a live token belongs to, or None (unknown, revoked or expired)."""
    key = digest(token)
    user_id = cache.get(key)
    return user_id if user_id is not None else look_up(session, key, cache)


_TOKENS = Token.__table__
LOOK_UP_QUERY = select(_TOKENS.c.user_id, _TOKENS.c.expires_at).where(
    _TOKENS.c.token_hash == bindparam("token_hash"))  # built once: no cache-key work a call


def look_up(session: Session | Connection, key: str, cache: TokenCache = NO_CACHE) -> str | None:
    """`user_for` past the cache, by the token's digest: one statement (it needs no
    transaction around it); a live token is remembered in `cache`."""
    row = session.execute(LOOK_UP_QUERY, {"token_hash": key}).first()
    if row is None:
        return None
    seconds_left = (row.expires_at - utcnow()).total_seconds()
    if seconds_left <= 0:
        return None
    cache.put(key, row.user_id, seconds_left)
    return row.user_id


def revoke(session: Session, token: str, cache: TokenCache = NO_CACHE) -> None:
    session.execute(delete(Token).where(Token.token_hash == digest(token)))
    cache.drop(digest(token))


def user_id_hint(environ) -> str | None:
    """The unverified user id in a request's bearer token (for chaos cohorts only)."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Bearer user_"):
        return header[7:].split(".", 1)[0][:40]
    return None
