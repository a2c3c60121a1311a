"""Fixtures of the report tests: synthetic journey streams (see journey_streams.py)."""
import pytest

from tests.helpers.journey_streams import Stream, make_stream


@pytest.fixture
def incident_stream() -> Stream:
    return make_stream()


@pytest.fixture
def healthy_stream() -> Stream:
    return make_stream(incident=False, noise=0.002)


@pytest.fixture
def integrity() -> dict:
    return {"ok": True, "ledger_balanced": True, "negative_balances": 0,
            "duplicate_transfers": 0, "lost_acknowledged_transfers": 0,
            "acknowledged_transfers": 12, "audit": {"entries_sum_to_zero": True}}
