"""Input no database can store, or no parser can survive, is a 400 naming the field.

NUL and unpaired surrogates in any stored string (body, path id, query, cursor, stored
header) and JSON nested too deep: each answered 400 `validation_error` in the envelope,
nothing written, on SQLite and PostgreSQL. The same through a real server:
tests/test_served_bank.py.
"""
import base64

import pytest

from bankapi.web.inputs import MAX_JSON_DEPTH, json_depth

BAD = {"nul": "a\u0000b", "high-surrogate": "a\ud800b", "low-surrogate": "\udc00"}

# (method, path, body, field): every endpoint that stores text, the bad text in `field`.
BODIES = [
    ("POST", "/auth/register", {"email": "x@example.com", "password": "long enough",
                                "name": "{bad}"}, "name"),
    ("POST", "/auth/register", {"email": "{bad}@example.com", "password": "long enough",
                                "name": "X"}, "email"),
    ("POST", "/auth/register", {"email": "x@example.com", "password": "long {bad}",
                                "name": "X"}, "password"),
    ("POST", "/auth/login", {"email": "{alice}", "password": "{bad}"}, "password"),
    ("POST", "/auth/login", {"email": "{bad}", "password": "whatever1"}, "email"),
    ("POST", "/accounts", {"type": "savings", "name": "{bad}"}, "name"),
    ("POST", "/transfers", {"from_account_id": "{acc}", "to_account_id": "{bob_acc}",
                            "amount": 100, "currency": "GBP", "reference": "{bad}"}, "reference"),
    ("POST", "/transfers", {"from_account_id": "{acc}", "to_email": "{bad}",
                            "amount": 100, "currency": "GBP"}, "to_email"),
    ("POST", "/transfers", {"from_account_id": "{bad}", "to_account_id": "{bob_acc}",
                            "amount": 100, "currency": "GBP"}, "from_account_id"),
    ("POST", "/payments", {"account_id": "{acc}", "amount": 100, "merchant": "{bad}",
                           "category": "cash"}, "merchant"),
    ("POST", "/payments", {"account_id": "{bad}", "amount": 100, "merchant": "M",
                           "category": "cash"}, "account_id"),
    ("POST", "/admin/releases", {"version": "9.0.0", "notes": "{bad}"}, "notes"),
    ("POST", "/admin/releases", {"version": "{bad}"}, "version"),
]


def _fill(value, bad, alice, bob):
    if isinstance(value, str):
        return value.format(bad=bad, alice=alice.email, acc=alice.account_id,
                            bob_acc=bob.account_id)
    return value


def _headers(path, alice, admin_headers):
    if path.startswith("/admin"):
        return admin_headers
    return {**alice.headers, "Idempotency-Key": "k1"}


def _assert_refused(response, field):
    assert response.status_code == 400, (response.status_code, response.get_data())
    error = response.json["error"]
    assert error["code"] == "validation_error" and error["field"] == field
    assert error["request_id"] and field in error["message"]


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("method,path,body,field", BODIES,
                         ids=[f"{m} {p} {f}" for m, p, _, f in BODIES])
def test_unstorable_text_in_a_body_is_400(client, alice, bob, admin_headers,
                                          assert_nothing_written, method, path, body, field,
                                          bad):
    body = {name: _fill(value, bad, alice, bob) for name, value in body.items()}
    response = client.open(path, method=method, json=body,
                           headers=_headers(path, alice, admin_headers))
    _assert_refused(response, field)
    assert_nothing_written()


PATHS = [("GET", "/accounts/{bad}", "account_id"),
         ("GET", "/accounts/{bad}/balance", "account_id"),
         ("GET", "/accounts/{bad}/transactions", "account_id"),
         ("POST", "/accounts/{bad}/topup", "account_id"),
         ("GET", "/transactions/{bad}", "tx_id"),
         ("POST", "/notifications/{bad}/read", "ntf_id"),
         ("PUT", "/budgets/{bad}", "category"),
         ("DELETE", "/budgets/{bad}", "category")]


@pytest.mark.parametrize("bad", ["%00", "acc_%00x"])
@pytest.mark.parametrize("method,path,field", PATHS, ids=[f"{m} {p}" for m, p, _ in PATHS])
def test_nul_in_a_path_id_is_400(client, alice, assert_nothing_written, method, path, field,
                                 bad):
    body = {"amount": 100} if path.endswith("topup") else {"limit": 100}
    response = client.open(path.format(bad=bad), method=method,
                           headers={**alice.headers, "Idempotency-Key": "k1"},
                           json=body if method in ("POST", "PUT") else None)
    _assert_refused(response, field)
    assert_nothing_written()


@pytest.mark.parametrize("path", ["/accounts/{acc}/transactions", "/notifications"])
@pytest.mark.parametrize("cursor", [
    base64.urlsafe_b64encode(b"2026-01-01T00:00:00|tx_\x00").decode(),  # decodes to a NUL
    "%00"])
def test_nul_in_a_cursor_is_400(alice, path, cursor):
    response = alice.get(f"{path.format(acc=alice.account_id)}?cursor={cursor}")
    _assert_refused(response, "cursor")


def test_nul_in_the_idempotency_key_is_400(alice, assert_nothing_written):
    response = alice.post(f"/accounts/{alice.account_id}/topup", json={"amount": 100},
                          key="k\u0000ey")
    _assert_refused(response, "Idempotency-Key")
    assert_nothing_written()


@pytest.mark.parametrize("path", ["/auth/login", "/auth/register", "/transfers",
                                  "/accounts", "/admin/releases"])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000])
def test_json_nested_too_deep_is_400(client, alice, admin_headers, assert_nothing_written,
                                     path, depth):
    for body in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
        response = client.post(path, data=body, content_type="application/json",
                               headers=_headers(path, alice, admin_headers))
        _assert_refused(response, "body")
        assert f"deeper than {MAX_JSON_DEPTH}" in response.json["error"]["message"]
    assert_nothing_written()


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth(b'{"a": "[[[{{{\\"]]]", "b": [[1]]}') == 3
    assert json_depth(b"") == 0


def test_valid_surrogate_pairs_and_ordinary_unicode_are_kept(alice):
    response = alice.post("/accounts", json={"type": "savings", "name": "Caf\u00e9 \U0001F600"})
    assert response.status_code == 201
    assert response.json["name"] == "Caf\u00e9 \U0001F600"
