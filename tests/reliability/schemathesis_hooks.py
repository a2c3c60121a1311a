"""A check schemathesis adds to its own for tests/reliability/test_fuzz_api.py: every 4xx
and 5xx body is the bank's error envelope (loaded by `st` through SCHEMATHESIS_HOOKS)."""
import schemathesis


@schemathesis.check
def error_envelope(ctx, response, case):
    if response.status_code < 400:
        return None
    error = response.json()["error"]
    missing = {"code", "message", "request_id"} - set(error)
    if missing or not all(isinstance(error[k], str) and error[k] for k in
                          ("code", "message", "request_id")):
        raise AssertionError(f"not the error envelope: {response.text[:300]}")
    return None


REQUEST_KEYS = {"app_version", "platform", "path", "methods", "headers", "devices"}


@schemathesis.hook
def filter_body(ctx, body):
    """Drop a generated chaos rule whose uniform latency has min_ms above max_ms: the one
    rule the bank applies that JSON Schema cannot state (it compares two fields), so the
    document cannot mark such a body invalid. The bank refuses it with a 400 naming min_ms
    (tests/chaos cover that)."""
    if isinstance(body, dict) and body.get("reference") == "magic:timeout":
        return False  # a real 30 s answer (docs/reference.md), past the check's time limit
    fault = body.get("fault") if isinstance(body, dict) else None
    match = body.get("match") if isinstance(body, dict) else None
    if isinstance(fault, dict) and isinstance(match, dict):
        # a delivery fault matches deliveries (events, users, cohorts), a request fault
        # requests: the bank refuses the other side's keys, another cross-field rule
        delivery = str(fault.get("type", "")).startswith("webhook_")
        if delivery and set(match) & REQUEST_KEYS or not delivery and "events" in match:
            return False
    if isinstance(fault, dict):
        low, high = fault.get("min_ms"), fault.get("max_ms")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
            return low <= high
    return True
