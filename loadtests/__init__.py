"""Load tests for banksim: a simulated mobile app replaying a bad release.

Only `loadtests/locustfile.py` (and the modules it alone imports) may import
Locust: Locust monkey-patches the process with gevent. Everything else here
(`retry`, `versions`, `timeline`, `journal`, `mobile`, `journeys`) is plain
Python so tests and the report can import it safely.
"""
