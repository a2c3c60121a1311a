"""The database connection drops mid-transaction, as in a failover or a server crash.

The driver's connection under the request's statement is closed just before the statement
is sent, so the statement fails exactly as on a real drop (psycopg: "the connection is
closed"; sqlite3: "Cannot operate on a closed database"); SQLAlchemy recognises the
disconnect and throws the connection away instead of returning it to the pool. What was
not committed is lost with the connection: nothing half-written.
"""
from .statements import DatabaseFault, StatementSettings


class DbDisconnectFault(DatabaseFault):
    type = "db_disconnect"
    Settings = StatementSettings

    def on_statement(self, conn, cursor, active):
        conn.connection.dbapi_connection.close()
