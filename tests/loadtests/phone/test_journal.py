"""The exact shape of journey events and transfer intents, and the JSON Lines sink."""
import json

import pytest

from loadtests.phone.journal import (JOURNEY_KEYS, TRANSFER_KEYS, EventBuffer, JsonLinesSink,
                               journey_event, transfer_intent)


def event(**overrides):
    fields = dict(t_s=1.23456, user="user1@example.com", journey="app_open", app_version="4.2.0",
                  platform="ios", phase="incident", ok=False, duration_ms=12.34567, retries=2,
                  requests=5, error="GET /me: no answer (ConnectionError)")
    return journey_event(**{**fields, **overrides})


def test_journey_event_has_exactly_the_report_fields():
    assert tuple(event()) == JOURNEY_KEYS == (
        "t_s", "user", "journey", "app_version", "platform", "phase", "ok", "duration_ms",
        "retries", "requests", "error", "network", "failure", "wait_s", "fast_failed",
        "budget_denied", "breaker_opened")
    assert event()["t_s"] == 1.235 and event(error=None)["error"] is None


def test_journey_event_names_the_network_and_how_a_failed_journey_failed():
    failed = event(network="wifi", failure="timeout_mid_body")
    assert (failed["network"], failed["failure"]) == ("wifi", "timeout_mid_body")
    assert event(ok=True, failure="truncated_body")["failure"] is None
    for bad in ({"network": "5g"}, {"failure": "sunspots"}):
        with pytest.raises(ValueError):
            event(**bad)


def test_journey_event_rejects_an_unknown_phase():
    with pytest.raises(ValueError):
        event(phase="outage")


def test_transfer_intent_has_exactly_the_reconciliation_fields():
    intent = transfer_intent(intent="int_1", idempotency_key="idem_1", from_account_id="acc_1",
                             to_email="user2@example.com", amount=100, acked=False,
                             transfer_id=None, status=None)
    assert tuple(intent) == TRANSFER_KEYS


def test_buffer_drains_everything_once():
    buffer = EventBuffer()
    buffer.add_journey(event())
    buffer.add_transfer({"intent": "int_1"})
    assert buffer.drain() == {"journeys": [event()], "transfers": [{"intent": "int_1"}]}
    assert buffer.drain() == {"journeys": [], "transfers": []}


def test_sink_truncates_then_appends_json_lines(tmp_path):
    path = tmp_path / "out" / "journeys.jsonl"
    path.parent.mkdir()
    path.write_text("stale\n")
    sink = JsonLinesSink(str(path), None)
    sink.write({"journeys": [event()], "transfers": [{"intent": "x"}]})
    sink.write({"journeys": [event(ok=True)]})
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["ok"] for r in rows] == [False, True]
    assert sink.counts == {"journeys": 2, "transfers": 1}


def test_the_progress_bar_reads_only_new_complete_lines(tmp_path):
    from loadtests.run.incident import JournalTail
    path = tmp_path / "journeys.jsonl"
    tail = JournalTail(path)
    tail.read_new()  # no file yet
    path.write_text('{"ok": true}\n{"ok": false}\n{"ok": tr')
    tail.read_new()
    assert (tail.journeys, tail.failed) == (2, 1)
    path.write_text('{"ok": true}\n{"ok": false}\n{"ok": true}\n{"ok": false}\n')
    tail.read_new()
    assert (tail.journeys, tail.failed) == (4, 2)
