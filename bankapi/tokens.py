"""Bearer tokens: `user_<id>.<secret>`, stored only as a SHA-256 digest.

The user id in front lets the chaos layer pick a user's cohort without a
database query; it grants nothing by itself, since only the digest lookup
authenticates.
"""
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .clock import utcnow
from .models import Token


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, user_id: str, ttl_s: int) -> str:
    token = f"{user_id}.{secrets.token_urlsafe(32)}"
    session.add(Token(token_hash=digest(token), user_id=user_id,
                      expires_at=utcnow() + timedelta(seconds=ttl_s)))
    return token


def user_for(session: Session, token: str) -> str | None:
    """The user id a live token belongs to, or None (unknown, revoked or expired)."""
    row = session.execute(select(Token.user_id, Token.expires_at)
                          .where(Token.token_hash == digest(token))).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return row.user_id


def revoke(session: Session, token: str) -> None:
    session.execute(delete(Token).where(Token.token_hash == digest(token)))


def user_id_hint(environ) -> str | None:
    """The unverified user id in a request's bearer token (for chaos cohorts only)."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Bearer user_"):
        return header[7:].split(".", 1)[0][:40]
    return None
