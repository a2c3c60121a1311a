"""`banksim compare`: the same scenario under several choices, one run after another.

`plan` (what will run), `runner` (running it), `metrics` (each run's figures), `summary`
(the terminal table and the verdict words) and `html` (compare.html).
"""
from .runner import run_comparison

__all__ = ["run_comparison"]
