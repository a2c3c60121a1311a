"""Prometheus counter of injected faults, and the bounded label helpers it shares with the bank.

`chaos_injections_total{rule, fault, app_version}` goes up once per fault the engine
injects, in whichever process injected it; under gunicorn prometheus_client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR) sums the workers. Labels stay bounded:
rule ids come from the admin API, faults are the five types, and an app version
that is not a plausible release number folds into "other".
"""
import re

from prometheus_client import Counter

VERSION = re.compile(r"^\d{1,3}\.\d{1,3}(\.\d{1,4})?([ab]|rc|\.post|\.dev)?\d{0,3}$")

INJECTIONS = Counter("chaos_injections_total", "Faults injected by the chaos layer",
                     ("rule", "fault", "app_version"))


def app_version_label(value: str | None) -> str:
    return value if value and VERSION.match(value) else "other"


def count_injection(rule_id: str, fault: str, app_version: str | None) -> None:
    INJECTIONS.labels(rule_id, fault, app_version_label(app_version)).inc()
