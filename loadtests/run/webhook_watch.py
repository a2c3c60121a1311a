"""A run's webhook receiver (`webhooks: true` in the scenario): the phones' customers' events,
received as a partner would, and checked against the ledger at the end.

Before the phones start, the reference receiver listens on a free loopback port and an
admin webhook (every customer's events) points at it. After the phones stop, the watch
waits (up to WAIT_S) for the bank to finish or give up its deliveries, then reads the
deliveries and the customers' ledger entries since the webhook was made (admin API) and
writes the report's `webhooks` block (`loadtests.receiver.integrity`).
"""
import datetime
import json
import time
from pathlib import Path

from loadtests.receiver.integrity import webhooks_block
from loadtests.receiver.receiver import Receiver
from loadtests.receiver.server import ReceiverServer

WAIT_S = 60.0
PAGE = 1000


class WebhookWatch:
    def __init__(self, admin, events_out: Path):
        self.admin = admin
        self.since = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.server = ReceiverServer(Receiver(None, events_out)).start()
        try:
            hook = admin("POST", "/admin/webhooks", {"url": self.server.url})
        except BaseException:
            self.server.stop()
            raise
        self.hook_id, self.server.receiver.secret = hook["id"], hook["secret"]

    def deliveries(self) -> list[dict]:
        return self.admin("GET", f"/admin/webhooks/{self.hook_id}/deliveries?limit=100000")[
            "deliveries"]

    def ledger(self) -> list[dict]:
        rows, cursor = [], ""
        while True:
            page = self.admin("GET", f"/admin/ledger?since={self.since.replace('+', '%2B')}"
                                     f"&limit={PAGE}&cursor={cursor}")
            rows += page["transactions"]
            cursor = page["next_cursor"]
            if not cursor:
                return rows

    def finish(self, path: Path, wait_s: float = WAIT_S) -> dict:
        """Wait for the deliveries to settle, stop the receiver, write and return the block.

        Payments still settle after the phones stop, each step a new event: the check
        needs a ledger that no longer moves, so it reads the ledger, waits until nothing
        is pending, and reads it again, until two reads agree (or time is up)."""
        deadline = time.monotonic() + wait_s
        ledger = self.ledger()
        while True:
            deliveries = self.deliveries()
            while (any(d["state"] == "pending" for d in deliveries)
                   and time.monotonic() < deadline):
                time.sleep(0.5)
                deliveries = self.deliveries()
            again = self.ledger()
            if _moves(again) == _moves(ledger) or time.monotonic() >= deadline:
                ledger = again
                break
            ledger = again
            time.sleep(0.5)
        self.stop()
        receiver = self.server.receiver
        block = webhooks_block(receiver.summary(), receiver.events, deliveries, ledger)
        path.write_text(json.dumps(block, indent=2) + "\n", encoding="utf-8")
        return block

    def stop(self) -> None:
        self.server.stop()


def _moves(ledger: list[dict]) -> set[tuple[str, str]]:
    """What a settlement step changes: the entries and their statuses."""
    return {(entry["id"], entry.get("status")) for entry in ledger}
