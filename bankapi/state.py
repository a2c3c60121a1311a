"""What one bank app holds while it runs, in one typed place: `app.state`.

`create_app` makes it empty and each part fills its own fields as it is installed; several
apps in one process (tests, the CLI) each keep their own, which is why none of this is a
module global.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from .accesslog import AccessLog
    from .database.writers import WriterQueue
    from .domain.testclock import OffsetCache
    from .domain.tokens import TokenCache
    from .settler import Settler
    from .web.metrics import KnownVersions
    from .domain.retention import Pruner
    from .webhooks.dispatcher import Dispatcher


@dataclass
class BankState:
    engine: Engine | None = None        # the database (database/db.py)
    reader: Engine | None = None        # one-statement reads outside a transaction, or None
    driver: Engine | None = None        # the balance on the driver's own cursor (SQLite), or None
    writers: WriterQueue | None = None  # SQLite's writers' queue, or None
    tokens: TokenCache | None = None    # tokens this process verified lately
    versions: KnownVersions | None = None  # the app versions metrics may name
    access_log: AccessLog | None = None    # the JSON access log, when `serve` asks for one
    pruner: Pruner | None = None        # when this process last pruned expired rows
    clock: OffsetCache | None = None    # the test clock's offset, when BANKSIM_TEST_CLOCK=1
    settler: Settler | None = None      # the settlement worker, in `serve`'s processes
    dispatcher: Dispatcher | None = None  # this process's webhook dispatcher, under `serve`
    delivery_chaos: Callable | None = None  # Job -> plan, when chaos is installed
