"""A run: seed and serve a bank, start Locust, stop every child, reconcile, report.

`banksim incident` and `banksim loadtest` (`cli.py`); everything happens in subprocesses
and over HTTP, so nothing here imports locust.
"""
