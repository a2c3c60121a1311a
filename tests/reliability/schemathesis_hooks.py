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
