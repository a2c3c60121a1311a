"""The reference's table of the endpoints each journey calls (what a chaos rule's `path`
must name to hit a journey) is the registry's, and the registry's endpoints are what the
journeys really send: every journey run against a real `banksim serve` with seeded
customers, every request it sent recorded on the wire."""
import fnmatch
from contextlib import contextmanager
from pathlib import Path
from random import Random
from urllib.parse import urlsplit

import pytest
import requests

from loadtests.phone import journeys
from loadtests.phone.mobile import Device, MobileClient
from loadtests.phone.retry import policy_named

ROOT = Path(__file__).resolve().parents[3]


def test_the_reference_shows_the_registry_s_table():
    reference = (ROOT / "docs" / "reference.md").read_text()
    assert journeys.endpoint_table() in reference


class WireSession:
    """Locust's session interface (`request(..., catch_response=True)` as a context) over
    plain requests to the bank, recording `METHOD /path` of every request sent."""

    def __init__(self, url: str):
        self.url, self.http, self.sent = url, requests.Session(), []

    @contextmanager
    def request(self, method, path, *, name=None, catch_response=True, **kwargs):
        response = self.http.request(method, self.url + path, **kwargs)
        self.sent.append(f"{method} {urlsplit(response.request.url).path}")
        response.success = response.failure = lambda *_args: None
        yield response


def phone(url: str, number: int) -> tuple[journeys.MobileApp, WireSession]:
    session = WireSession(url)
    device = Device(number=number, platform="ios", app_version="4.1.3",
                    device_id=f"dev_{number}")
    client = MobileClient(session, device, policy_named("none"), id_rng=Random(number),
                          jitter_rng=Random(number), timeout_s=30)
    return journeys.MobileApp(client, Random(number), seeded_users=12, adoption=0,
                              run_tag=f"t{number}"), session


def matched(kind, calls: list[str]) -> set[str]:
    """The registry's endpoints these calls hit; fails on a call the registry lacks."""
    hit = set()
    for call in calls:
        method, path = call.split(" ", 1)
        owners = [e for e in kind.endpoints
                  if e.split(" ", 1)[0] == method and fnmatch.fnmatch(path, e.split(" ", 1)[1])]
        assert owners, f"{kind.name} sent {call}, not in its registry entry {kind.endpoints}"
        hit.update(owners)
    return hit


@pytest.mark.slow
def test_each_journey_calls_exactly_the_endpoints_the_registry_lists(bank):
    for kind in (journeys.LOGIN, *journeys.JOURNEYS):
        hit = set()
        for number in range(1, 13):  # some customers have an unread notification, some not
            app, session = phone(bank.url, number)
            journeys.login(app)
            session.sent.clear()
            kind.steps(app)
            hit |= matched(kind, session.sent)
        assert hit == set(kind.endpoints), kind.name
    app, session = phone(bank.url, 1)
    journeys.login(app)
    app.token_expires_at = 0  # stale: the next journey renews the session first
    session.sent.clear()
    journeys.sign_in(app)
    assert session.sent == ["POST /auth/refresh"] and journeys.SIGN_IN[0] == session.sent[0]
