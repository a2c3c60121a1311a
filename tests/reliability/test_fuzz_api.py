"""Schemathesis with every check against `banksim serve` (2 workers): /openapi.json says
everything the API does, so a generated client or a contract test built from it is never
surprised.

`st run --checks all` in all four of its phases (explicit examples, coverage, fuzzing,
stateful), deterministic and bounded per operation, three times:

- as a customer (a registered user with money, a transfer, a budget): every operation but
  logout; the admin operations answer that token 401, which they must document;
- as that customer's second session, POST /auth/logout alone (it revokes the token the
  first run uses);
- with the admin token, the /admin operations (the chaos rules it creates match only
  non-admin paths, which that run does not call; they are removed afterwards).

Besides schemathesis's checks, every 4xx/5xx must be the error envelope
(schemathesis_hooks.py). What schemathesis.toml configures, and why, is said there.
"""
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
MAX_EXAMPLES = 10  # per operation and phase: about 4,500 requests in the three runs


def _register(url: str) -> dict:
    response = requests.post(f"{url}/auth/register", timeout=30, json={
        "email": f"fuzz-{uuid.uuid4().hex[:12]}@example.com", "password": "correct horse",
        "name": "Fuzz"})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def customer(served_bank):
    """A customer with history: a top-up, a transfer out (notifications for both sides),
    a budget; and a second device session (its own token) for the logout run."""
    url, body, other = served_bank, _register(served_bank), _register(served_bank)
    headers = {"Authorization": f"Bearer {body['access_token']}"}

    def post(path, json, **kw):
        response = requests.post(url + path, json=json, timeout=30, **kw)
        assert response.status_code in (200, 201), response.text
        return response.json()
    account = requests.get(f"{url}/accounts", headers=headers, timeout=30).json()["accounts"][0]
    post(f"/accounts/{account['id']}/topup", {"amount": 50_000_00},
         headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    post("/transfers", {"from_account_id": account["id"], "to_email": other["user"]["email"],
                        "amount": 12_34, "currency": "GBP", "reference": "rent"},
         headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    requests.put(f"{url}/budgets/groceries", json={"limit": 200_00}, headers=headers,
                 timeout=30).raise_for_status()
    second = post("/auth/login", {"email": body["user"]["email"], "password": "correct horse"})
    return {"token": body["access_token"], "account_id": account["id"],
            "logout_token": second["access_token"]}


def _schemathesis(workdir: Path, url: str, token: str, account_id: str, *select: str) -> str:
    """`st run` with every check; its output. Fails the test unless every check passed."""
    env = {**os.environ, "FUZZ_ACCOUNT_ID": account_id,
           "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py")}
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file",
               str(HERE / "schemathesis.toml"), "--no-color", "run", f"{url}/openapi.json",
               "--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--workers", "1",
               "--header", f"Authorization: Bearer {token}", "--request-timeout", "30",
               *select]
    result = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True,
                            timeout=900, check=False)  # its cache in workdir, not the checkout
    output = result.stdout + result.stderr
    summary = [line for line in output.splitlines()
               if re.search(r"Operations:|passed|failed|skipped|=====", line)]
    print("\n".join(summary))
    failures = output[output.find("== FAILURES =="):] if "== FAILURES ==" in output else output
    assert result.returncode == 0, failures[-20_000:]
    assert "Operations:" in output and " 0 selected" not in output, output[-3000:]
    return output


def test_customer_sees_only_documented_answers(served_bank, customer, tmp_path):
    _schemathesis(tmp_path, served_bank, customer["token"], customer["account_id"],
                  "--exclude-path", "/auth/logout")


def test_logout_sees_only_documented_answers(served_bank, customer, tmp_path):
    _schemathesis(tmp_path, served_bank, customer["logout_token"], customer["account_id"],
                  "--include-path", "/auth/logout")


def test_admin_sees_only_documented_answers(served_bank, customer, admin_headers, tmp_path):
    token = admin_headers["Authorization"].split(" ", 1)[1]
    try:
        _schemathesis(tmp_path, served_bank, token, customer["account_id"],
                      "--include-path-regex", "^/admin/")
    finally:
        headers = admin_headers
        requests.delete(f"{served_bank}/admin/chaos/rules", headers=headers, timeout=30)
        requests.post(f"{served_bank}/admin/chaos/enable", headers=headers, timeout=30)
