"""The bank's chaos presets: named sets of rules for the failures banksim's scenarios teach.

The bank hands them to the chaos layer (`chaos.init_app(..., presets=PRESETS)`), which
knows nothing of app versions or payments itself. A preset is only data: applying one
adds its rules (validated like any other), replacing those it added before. The rules of
`bad-release` share one named cohort, so the same 40% of 4.2.0 users suffer every one of
its faults. The bank also names the headers rules may match on (`MATCH_HEADERS`).
"""
from chaos import Preset

# The request headers a rule's `match.headers` may name. X-Network is what the simulated
# phones say about their link (wifi or cellular), so a rule can break one kind of network.
MATCH_HEADERS = ("X-Network",)


def _burst(on_s: float, off_s: float) -> dict:
    return {"type": "burst", "on_s": on_s, "off_s": off_s}


_BAD_RELEASE = {"app_version": "==4.2.0", "cohort_percent": 40, "cohort": "bad-release"}

PRESETS = {preset.name: preset for preset in (
    Preset("bad-release",
           "App 4.2.0 on every platform: about 40% of its users hit bursts of connection "
           "resets on every endpoint, and some POST /transfers and /payments are reset after "
           "the money has moved (the app never learns it succeeded).",
           ({"name": "bad-release: transfer answers lost after commit",
             "match": {**_BAD_RELEASE, "path": "/transfers", "methods": ["POST"]},
             "fault": {"type": "reset"}, "phase": "after", "probability": 0.5,
             "pattern": _burst(10, 5)},
            {"name": "bad-release: payment answers lost after commit",
             "match": {**_BAD_RELEASE, "path": "/payments", "methods": ["POST"]},
             "fault": {"type": "reset"}, "phase": "after", "probability": 0.5,
             "pattern": _burst(10, 5)},
            {"name": "bad-release: connection resets",
             "match": dict(_BAD_RELEASE), "fault": {"type": "reset"}, "phase": "before",
             "probability": 0.85, "pattern": _burst(10, 5)})),
    Preset("flaky-network",
           "Every app version: short, rare bursts of connection resets, like a mobile "
           "network dropping out.",
           ({"name": "flaky-network: resets", "fault": {"type": "reset"},
             "probability": 0.05, "pattern": _burst(3, 27)},)),
    Preset("slow-backend",
           "Every request is slowed by a lognormal delay (median 300 ms, long tail).",
           ({"name": "slow-backend: latency",
             "fault": {"type": "latency", "distribution": "lognormal", "median_ms": 300,
                       "sigma": 0.7}},)),
    Preset("payments-outage",
           "POST /payments and /transfers answer 503 with Retry-After: 5; everything else "
           "works.",
           tuple({"name": f"payments-outage: {path} unavailable",
                  "match": {"path": path, "methods": ["POST"]},
                  "fault": {"type": "error", "status": 503, "retry_after_s": 5}}
                 for path in ("/payments", "/transfers"))),
)}
