"""Device sessions for the seeded customers, so simulated phones start signed in.

`banksim seed --sessions-out PATH` issues one session per customer, user1, user2, ... in
that order, through `bankapi.domain.device_sessions.start_many` (one bulk insert: 10,000 sessions
are 10,000 random tokens, digests and rows, not 10,000 password hashes), and writes

    {"sessions": [{"email": "user1@example.com", "refresh_token": "rt_..."}, ...]}

to PATH with mode 0600: the refresh tokens are credentials. The file is written beside PATH
and renamed into place, so a reader never sees half of it. Each run issues new sessions;
the earlier ones stay valid until they expire (BANKSIM_REFRESH_TOKEN_TTL_S).
"""
import json
import os
import tempfile
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bankapi.domain import device_sessions
from bankapi.database.engines import IMMEDIATE

from .people import customer_email


def issue_sessions(engine: Engine, users: int, refresh_ttl_s: int) -> list[dict]:
    """One new session for each of the customers user1..user`users` that exist, in order:
    [{"email", "refresh_token"}, ...] (committed before this returns)."""
    emails = [customer_email(number) for number in range(1, users + 1)]
    with Session(engine) as session, session.begin():
        session.connection(execution_options={IMMEDIATE: True})
        found = device_sessions.user_ids_by_email(session, emails)
        refresh_tokens = device_sessions.start_many(session, [user_id for _, user_id in found],
                                             refresh_ttl_s)
    return [{"email": email, "refresh_token": token}
            for (email, _), token in zip(found, refresh_tokens, strict=True)]


def write_sessions_file(path: Path, issued: list[dict]) -> None:
    """Write the sessions as JSON to `path`, readable by its owner only (0600)."""
    path = Path(path)
    rows = ",\n".join(json.dumps(row) for row in issued)  # one session per line
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:  # mkstemp creates the file 0600, whatever the umask
        with os.fdopen(fd, "w") as out:
            out.write(f'{{"sessions": [\n{rows}\n]}}\n')
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
