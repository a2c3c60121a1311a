import pytest


def test_request_id_is_echoed_or_made(client):
    sent = client.get("/health", headers={"X-Request-Id": "abc-123"})
    assert sent.headers["X-Request-Id"] == "abc-123"
    made = client.get("/health")
    assert len(made.headers["X-Request-Id"]) >= 16


@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/nowhere", 404, "not_found"),
    ("DELETE", "/health", 405, "method_not_allowed"),
])
def test_routing_errors_use_the_envelope(client, method, path, status, code):
    response = client.open(path, method=method, headers={"X-Request-Id": "rid"})
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert response.json["error"]["request_id"] == "rid"


def test_unexpected_exception_is_a_500_envelope(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)


def test_health(client):
    assert client.get("/health").json["status"] == "ok"


def test_openapi_documents_every_endpoint(client):
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in ("/auth/register", "/auth/login", "/auth/logout", "/me", "/accounts",
                 "/accounts/{account_id}", "/accounts/{account_id}/balance",
                 "/accounts/{account_id}/topup", "/accounts/{account_id}/transactions",
                 "/transactions/{tx_id}", "/transfers", "/payments", "/budgets",
                 "/budgets/{category}", "/insights/spending", "/notifications",
                 "/notifications/{ntf_id}/read", "/notifications/read-all",
                 "/app/releases/latest", "/health"):
        assert path in spec["paths"], path
    transfer = spec["components"]["schemas"]["TransferIn"]
    assert transfer["properties"]["amount"]["minimum"] == 1
