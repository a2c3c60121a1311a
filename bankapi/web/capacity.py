"""A fixed service time per request: the bank's capacity as a setting, not the machine's speed.

With BANKSIM_SERVICE_MS > 0 every customer request (not /admin, /health or /metrics)
holds its thread that many milliseconds longer, as if each called a dependency of fixed
speed. The bank's capacity is then about workers x threads / service time whatever the
CPU: a scenario that overloads it (`bank:` in docs/scenarios.md) tells the same story on
a laptop and on a CI runner. The hold is a sleep, so waiting requests queue for a thread
exactly as they would behind real work. Off (0) by default.
"""
import time

from flask import request

from .. import ALWAYS_ANSWERED


def init_app(app) -> None:
    service_s = float(app.config.get("SERVICE_MS") or 0) / 1000
    if service_s <= 0:
        return

    def hold() -> None:
        if not request.path.startswith(ALWAYS_ANSWERED):
            time.sleep(service_s)

    app.before_request(hold)
