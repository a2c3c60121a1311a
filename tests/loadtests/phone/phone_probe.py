"""A locustfile for test_phone_http.py: the real MobileCustomer (its FastHttpUser session),
driving a MobileClient through a fixed list of calls against a recording server.

    locust -f tests/loadtests/phone/phone_probe.py ProbePhone --headless -u 1 -r 1 -t 30s \\
        --host URL --client-timeout 0.5 --probe-out results.json

Each call's outcome (the answer's status, or the StepFailed message), the client's
attempts and the backoff delays it chose go to --probe-out; then the run stops.
"""
import json
from random import Random

import gevent
from locust import constant, events, task

from loadtests.phone import locustfile
from loadtests.phone.locustfile import MobileCustomer
from loadtests.phone.mobile import Device, MobileClient, StepFailed
from loadtests.phone.retry import POLICIES

CALLS = [  # (method, path, idempotency key, expected statuses, accepted business answers)
    ("GET", "/me", None, (200,), ()),
    ("GET", "/me", None, (200,), ()),
    ("GET", "/slow-once", None, (200,), ()),
    ("POST", "/transfers", "idem_probe_1", (201,), ()),
    ("GET", "/hang-up-once", None, (200,), ()),
    ("POST", "/payments", "idem_probe_2", (201,), ((422, "insufficient_funds"),)),
    ("GET", "/busy-once", None, (200,), ()),
    ("GET", "/not-json", None, (200,), ()),
]


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    parser.add_argument("--probe-out", default="", help="JSON file of the probe's outcomes")
    parser.add_argument("--probe-closed-port", type=int, default=9,
                        help="a port on 127.0.0.1 where nothing listens")


class ProbePhone(MobileCustomer):
    tasks = []
    wait_time = constant(1)

    def on_start(self):
        options = self.environment.parsed_options
        device = Device(number=3, platform="android", app_version="4.1.3", device_id="dev_probe")
        delays = []

        def sleep(seconds):
            delays.append(seconds)
            gevent.sleep(min(seconds, 0.05))  # the delay chosen is what the test reads

        client = MobileClient(self.client, device, POLICIES["backoff"], id_rng=Random(5),
                              jitter_rng=Random(6), timeout_s=locustfile.client_policy.timeout_s,
                              sleep=sleep)
        client.token = "tok_probe"
        outcomes = []
        refused = ("GET", f"http://127.0.0.1:{options.probe_closed_port}/refused", None,
                   (200,), ())
        for method, path, key, expect, accept in [*CALLS, refused]:
            before, delays[:] = client.requests, []
            try:
                answer = client.call(method, path, idempotency_key=key, expect=expect,
                                     accept=accept, json_body={"amount": 1} if key else None)
                outcome = answer.status
            except StepFailed as failed:
                outcome = str(failed)
            outcomes.append({"call": f"{method} {path}", "outcome": outcome,
                             "attempts": client.requests - before, "delays": list(delays)})
        with open(options.probe_out, "w") as out:
            json.dump(outcomes, out)
        gevent.spawn_later(0.1, self.environment.runner.quit)

    @task
    def idle(self):
        pass
