"""Scenarios: a YAML file read and validated (`loader`, `schema`), played through the bank's
admin API (`timeline`, `halt`), and the `banksim scenarios` command (`cli`).

The loader's API is the package's: `from loadtests.scenario import load, Scenario`.
"""
from .loader import (DEFAULT, NONE, Scenario, ScenarioError, TimelineStep, builtin_names, check,
                     did_you_mean, load, read, to_yaml)

__all__ = ["DEFAULT", "NONE", "Scenario", "ScenarioError", "TimelineStep", "builtin_names",
           "check", "did_you_mean", "load", "read", "to_yaml"]
