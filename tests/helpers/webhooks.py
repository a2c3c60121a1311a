"""Helpers for webhook tests: a receiver in the test's process and a dispatcher driven by hand."""
import uuid
import time

from bankapi.webhooks.dispatcher import Dispatcher
from loadtests.receiver.receiver import Receiver
from loadtests.receiver.server import ReceiverServer


def start_receiver(secret=None, out=None, hold_s=0.5) -> ReceiverServer:
    return ReceiverServer(Receiver(secret, out, hold_s=hold_s)).start()


def drain(app, until, timeout_s=20.0) -> None:
    """Run the dispatcher's polls in this thread until `until()` or the timeout."""
    dispatcher = Dispatcher(app)
    deadline = time.monotonic() + timeout_s
    try:
        while not until():
            assert time.monotonic() < deadline, "deliveries did not settle in time"
            if not dispatcher.run_once():
                time.sleep(0.05)
    finally:
        dispatcher.pool.shutdown(wait=True)


def pay(customer, amount=1_00):
    """A card payment of the customer's, with a fresh Idempotency-Key; its 201 answer."""
    response = customer.post("/payments", json={"account_id": customer.account_id,
                                                "amount": amount, "merchant": "Tesco",
                                                "category": "groceries"},
                             key=uuid.uuid4().hex)
    assert response.status_code == 201, response.json
    return response
