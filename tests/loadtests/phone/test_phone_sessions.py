"""The phone's session: it keeps an access token, renews it with its refresh token, and
types the password only when it has no session or the bank refused the refresh token."""
import pytest
from tests.loadtests.phone.test_mobile_client import FakeResponse, error, make_app

from loadtests.phone import journeys
from loadtests.phone.mobile import StepFailed


def tokens(access, refresh, expires_in=3600):
    return FakeResponse(200, {"access_token": access, "token_type": "Bearer",
                              "expires_in": expires_in, "user_id": "user_1",
                              "refresh_token": refresh})


def signed_out(app):
    app.client.token = None
    return app


def test_a_phone_with_a_fresh_token_sends_nothing_to_sign_in():
    app, session, _ = make_app()
    app.token_expires_at = app.clock() + 600
    journeys.sign_in(app)
    assert session.sent == []


def test_a_saved_session_is_refreshed_without_the_password():
    app, session, _ = make_app(tokens("a2", "r2"))
    signed_out(app).refresh_token = "r1"
    journeys.sign_in(app)
    assert [s["path"] for s in session.sent] == ["/auth/refresh"]
    assert session.sent[0]["json"] == {"refresh_token": "r1"}
    assert app.client.token == "a2" and app.refresh_token == "r2" and app.has_fresh_token()


def test_a_refused_refresh_token_falls_back_to_the_password():
    app, session, _ = make_app(error(401, "invalid_refresh_token"), tokens("a3", "r3"))
    signed_out(app).refresh_token = "spent"
    journeys.sign_in(app)
    assert [s["path"] for s in session.sent] == ["/auth/refresh", "/auth/login"]
    assert session.sent[1]["json"]["password"] == journeys.PASSWORD
    assert app.client.token == "a3" and app.refresh_token == "r3"


def test_a_network_failure_keeps_the_saved_session_for_the_next_journey():
    app, session, _ = make_app(*[error(503, "service_unavailable")] * 5)
    signed_out(app).refresh_token = "r1"
    with pytest.raises(StepFailed):
        journeys.sign_in(app)
    assert {s["path"] for s in session.sent} == {"/auth/refresh"}  # never the password
    assert app.refresh_token == "r1" and app.client.token is None


def test_an_access_token_about_to_expire_is_renewed_before_the_journey():
    app, session, _ = make_app(tokens("a1", "r1", expires_in=20), tokens("a2", "r2"))
    signed_out(app)
    journeys.sign_in(app)                    # no session: the password
    assert not app.has_fresh_token()         # 20 s is inside the renewal margin
    journeys.sign_in(app)
    assert [s["path"] for s in session.sent] == ["/auth/login", "/auth/refresh"]
    assert app.client.token == "a2"


def test_a_401_mid_journey_makes_the_next_journey_refresh():
    app, session, _ = make_app(tokens("a2", "r2"))
    app.refresh_token, app.token_expires_at = "r1", app.clock() + 600
    app.forget_session_on_401(StepFailed("GET /me: 401 unauthorized", 401))
    journeys.sign_in(app)
    assert [s["path"] for s in session.sent] == ["/auth/refresh"]
