"""Schemathesis against /openapi.json of the in-process bank (chaos installed, no rules):
no 5xx, answers conform to the documented schemas, every 4xx is the error envelope.

Each operation gets a bounded, derandomized set of generated requests (positive and
negative). The caller is a registered customer with some money and history; path ids are
the customer's own ids (another user's ids are tests/reliability/test_security.py's job),
and every request carries a fresh Idempotency-Key. /admin is fuzzed with the admin token
(and the chaos rules the fuzzer creates are removed after each /admin/chaos case).
POST /auth/logout is left out: it would revoke the token the other cases use.
"""
import uuid
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

MAX_EXAMPLES = 25
# Input-strictness heuristics, left out: the bank rightly refuses schema-valid input the
# schema cannot express (one of to_account_id/to_email, opaque cursors, PEP 440 versions,
# platform from the query or X-Platform) and ignores unknown query parameters.
HEURISTICS = [checks.positive_data_acceptance, checks.negative_data_rejection]


@pytest.fixture
def fuzz_customer(alice, bob):
    alice.post("/transfers", key=uuid.uuid4().hex,
               json={"from_account_id": alice.account_id, "to_account_id": bob.account_id,
                     "amount": 1_00, "currency": "GBP", "reference": "seed"})
    alice.client.put("/budgets/groceries", json={"limit": 10_00}, headers=alice.headers)
    ids = {"account_id": alice.account_id,
           "tx_id": alice.get(f"/accounts/{alice.account_id}/transactions")
                    .json["transactions"][0]["id"],
           "ntf_id": alice.get("/notifications").json["notifications"][0]["id"],
           "category": "groceries", "name": "flaky-network"}
    return alice, ids


def _envelope_on_errors(ctx, response, case):
    """Every 4xx and 5xx body is {"error": {"code", "message", "request_id"}}."""
    if response.status_code >= 400:
        error = response.json()["error"]
        assert {"code", "message", "request_id"} <= set(error), error
        assert error["code"] and error["message"] and error["request_id"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(app, fuzz_customer, admin_headers, mode):
    customer, ids = fuzz_customer
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app).exclude(path="/auth/logout")
    failures, cases = [], Counter()
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            cases[operation.label] += 1  # noqa: B023 - run() is called in this iteration
            if case.path_parameters:
                case.path_parameters = {name: ids.get(name, value)
                                        for name, value in case.path_parameters.items()}
            headers = {} if "Idempotency-Key" in (case.headers or {}) else {
                "Idempotency-Key": uuid.uuid4().hex}
            if case.path.startswith("/admin"):
                headers.update(admin_headers)
            elif operation.definition.raw.get("security"):  # noqa: B023
                headers.update(customer.headers)
            response = case.call(headers=headers)
            if case.path.startswith("/admin/chaos"):  # keep chaos off: no rules survive
                app.test_client().delete("/admin/chaos/rules", headers=admin_headers)
            assert response.status_code < 500, (response.status_code, response.text[:300])
            case.validate_response(response, headers=headers, excluded_checks=HEURISTICS,
                                   additional_checks=[_envelope_on_errors])

        try:
            run()
        except Unsatisfiable:
            pass  # negative mode: nothing in this operation can be made invalid
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect them all
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    print(f"\nfuzz ({mode}): {sum(cases.values())} cases over {len(cases)} operations, "
          f"{len(failures)} failing")
    assert not failures, "\n\n".join(failures)
