"""The bank's rules, free of HTTP: money movement, budgets, notifications, releases, audit.

Functions here take a SQLAlchemy session and never commit (the caller owns the
transaction) and never import Flask. They refuse with the exceptions in `errors`;
the web layer (`bankapi.web`) alone turns those into HTTP answers.
"""
