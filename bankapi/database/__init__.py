"""The database plumbing, and nothing of the bank's rules.

- `db.py`: the lifecycle in the web app: each app's engine, the request's ORM session,
  one-statement reads outside a transaction, and write transactions (`db.write`,
  `db.write_unit`);
- `engines.py`: SQLAlchemy engines tuned per backend, dialect helpers for upserts, and
  database failures said in two lines; no Flask;
- `driver.py`: the hottest one-statement read run on the driver's own cursor (SQLite);
- `writers.py`: SQLite's writers waiting their turn in a queue that wakes them.
"""
