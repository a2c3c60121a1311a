"""Customers and their accounts: registering (a user and a current account, together)
and opening another account."""
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..database.engines import dialect_insert
from ..ids import new_id
from ..models import Account, User
from .errors import Conflict


def register(session: Session, email: str, name: str, password_hash: str) -> dict:
    """Insert the user and their current account; Conflict if the email is taken.

    INSERT ... ON CONFLICT DO NOTHING, not look-then-insert: two registrations of one
    email racing on PostgreSQL would both miss the look and one would hit the unique
    index (a 500); this way the loser simply inserts nothing."""
    now = utcnow()
    user = {"id": new_id("user"), "email": email, "name": name, "created": now}
    inserted = session.execute(dialect_insert(session, User)
                               .values(**user, password_hash=password_hash)
                               .on_conflict_do_nothing(index_elements=["email"])
                               .returning(User.id)).first()
    if inserted is None:
        raise Conflict("an account with this email exists", "email", code="email_taken")
    session.add(Account(id=new_id("acc"), user_id=user["id"], type="current",
                        name="Current account", currency="GBP", balance=0, created=now))
    session.flush()
    return user


def open_account(session: Session, user_id: str, **fields) -> Account:
    """A new, empty GBP account of the user's (`fields`: its type and name)."""
    account = Account(id=new_id("acc"), user_id=user_id, balance=0, currency="GBP",
                      created=utcnow(), **fields)
    session.add(account)
    return account
