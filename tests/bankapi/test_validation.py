"""Bad input: a 4xx in the envelope naming the field, and nothing written."""

import pytest


def transfer_body(alice, bob, **changes):
    body = {"from_account_id": alice.account_id, "to_account_id": bob.account_id,
            "amount": 1_00, "currency": "GBP", "reference": "x"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.mark.parametrize("changes,field", [
    ({"amount": 0}, "amount"),
    ({"amount": -5}, "amount"),
    ({"amount": 1.5}, "amount"),
    ({"amount": "100"}, "amount"),
    ({"amount": True}, "amount"),
    ({"amount": 10**15}, "amount"),
    ({"amount": None}, "amount"),
    ({"amount": ...}, "amount"),
    ({"currency": "XXX"}, "currency"),
    ({"currency": 826}, "currency"),
    ({"reference": "r" * 141}, "reference"),
    ({"from_account_id": ["acc"]}, "from_account_id"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_transfer_fields(assert_nothing_written, app, alice, bob, changes, field):
    response = alice.post("/transfers", json=transfer_body(alice, bob, **changes), key="v")
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["code"] == "validation_error" and error["field"] == field
    assert field in error["message"] and error["request_id"]
    assert_nothing_written(app)


@pytest.mark.parametrize("body,field", [
    ({"account_id": "A", "amount": 100, "merchant": "M", "category": "crypto"}, "category"),
    ({"account_id": "A", "amount": 100, "merchant": "", "category": "cash"}, "merchant"),
    ({"account_id": "A", "amount": 100, "merchant": "m" * 101, "category": "cash"}, "merchant"),
])
def test_bad_payment_fields(assert_nothing_written, app, alice, body, field):
    body = {**body, "account_id": alice.account_id}
    response = alice.post("/payments", json=body, key="v")
    assert response.status_code == 400 and response.json["error"]["field"] == field
    assert_nothing_written(app)


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"x"', "3", "true"])
def test_malformed_json_or_json_that_is_not_an_object_names_the_body(
        assert_nothing_written, app, alice, body):
    response = alice.post("/transfers", data=body, key="v", content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "validation_error"
    assert response.json["error"]["field"] == "body"
    assert_nothing_written(app)


def test_wrong_content_type_is_415(assert_nothing_written, app, alice):
    response = alice.post("/transfers", data="amount=1", key="v",
                          content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"
    assert_nothing_written(app)


def test_oversized_body_is_413(assert_nothing_written, app, alice, bob):
    body = transfer_body(alice, bob, reference="x" * 70_000)
    response = alice.post("/transfers", json=body, key="v")
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert_nothing_written(app)


@pytest.mark.parametrize("query,field", [("limit=0", "limit"), ("limit=101", "limit"),
                                         ("limit=abc", "limit"), ("cursor=%%%", "cursor"),
                                         ("since=yesterday", "since"),
                                         ("category=crypto", "category")])
def test_bad_list_queries(alice, query, field):
    response = alice.get(f"/accounts/{alice.account_id}/transactions?{query}")
    assert response.status_code == 400
    assert response.json["error"]["field"] == field


def test_bad_registration(client):
    for body, field in (({"email": "not-an-email", "password": "long enough", "name": "x"},
                         "email"),
                        ({"email": "a@example.com", "password": "short", "name": "x"},
                         "password"),
                        ({"email": "a@example.com", "password": "long enough"}, "name")):
        response = client.post("/auth/register", json=body)
        assert response.status_code == 400 and response.json["error"]["field"] == field
