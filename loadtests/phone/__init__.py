"""The phone: everything that runs inside Locust's process.

Locust monkey-patches its process with gevent, so only this room imports locust, gevent or
geventhttpclient (tests/test_architecture.py enforces it), and only `locustfile.py` and
`transport.py` import them at all: the rest (journeys, the app's client, its policies,
the open model's arrivals, versions, the journal) is plain Python that tests and the
report import safely.
"""
