"""The open model for real: `banksim loadtest` (Locust and the real MobileCustomer) against a
server that takes 1.5 s to answer anything. Journeys keep arriving at the rate although
every answer is slow; phones never run two journeys at once, so most arrivals find no
free phone and are dropped, and every one is counted."""
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = pytest.mark.slow
SLOW_S = 1.5
RATE, SECONDS, PHONES = 10, 8, 4


class Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.answer()

    def do_POST(self):
        self.answer()

    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(SLOW_S)
        body = json.dumps({"error": {"code": "slow", "message": "m"}}).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def slow_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_open_model_keeps_its_rate_while_the_bank_is_slow_and_counts_drops(slow_server,
                                                                           tmp_path):
    load_out, journeys_out = tmp_path / "load.json", tmp_path / "journeys.jsonl"
    run = subprocess.run(
        [sys.executable, "-m", "banksim", "loadtest", "--headless", "-u", str(PHONES), "-r",
         str(PHONES), "-t", f"{SECONDS}s", "--host", slow_server, "--only-summary",
         "--load-model", "open", "--rate", str(RATE), "--client", "none",
         "--seeded-users", "10", "--load-out", str(load_out),
         "--journeys-out", str(journeys_out)],
        capture_output=True, text=True, timeout=90)
    assert load_out.exists(), run.stderr[-4000:]
    load = json.loads(load_out.read_text())
    offered = sum(row["offered"] for row in load["seconds"])
    started = sum(row["started"] for row in load["seconds"])
    dropped = sum(row["dropped"] for row in load["seconds"])
    assert load["model"] == "open" and load["phones"] == PHONES
    # arrivals did not wait for answers: about RATE a second over the seconds they ran
    # (Locust may end a loaded machine's run early: its clock starts before the phones)
    ran_s = max(row["t_s"] for row in load["seconds"]) + 1
    assert ran_s >= 3
    assert RATE * ran_s * 0.5 < offered < RATE * ran_s * 1.5
    # each phone is busy at least SLOW_S per journey: it cannot take more than this many
    assert started <= PHONES * (ran_s / SLOW_S + 1)
    assert started + dropped == offered and dropped >= offered / 2
    journeys = [json.loads(line) for line in journeys_out.read_text().splitlines()]
    assert 0 < len(journeys) <= started
    assert not any(j["ok"] for j in journeys)
    # a journey counts from its arrival: no second holds more journeys than it started
    started_in = {row["t_s"]: row["started"] for row in load["seconds"]}
    for second, n in Counter(int(j["t_s"]) for j in journeys).items():
        assert n <= started_in.get(second, 0), second


def test_distributed_workers_each_start_their_share_of_the_rate(slow_server, tmp_path,
                                                                processes):
    from loadtests.run.incident import free_port
    port, load_out = free_port(), tmp_path / "load.json"
    master_log = tmp_path / "master.log"
    from tests.helpers.loadrun import LOCUSTFILE
    locustfile = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    with open(master_log, "w") as log:
        processes.append(subprocess.Popen(
            [*locustfile, "--headless", "--master", "--master-bind-host", "127.0.0.1",
             "--master-bind-port", str(port), "--expect-workers", "2", "-u", str(PHONES),
             "-r", str(PHONES), "-t", f"{SECONDS}s", "--host", slow_server,
             "--load-model", "open", "--rate", str(RATE), "--client", "none",
             "--seeded-users", "10", "--load-out", str(load_out), "--only-summary"],
            stdout=log, stderr=subprocess.STDOUT))
    for _ in range(2):
        processes.append(subprocess.Popen(
            [*locustfile, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for process in processes:
        process.wait(timeout=90)
    assert load_out.exists(), master_log.read_text()[-4000:]
    seconds = json.loads(load_out.read_text())["seconds"]
    ran_s = max(row["t_s"] for row in seconds) + 1
    offered = sum(row["offered"] for row in seconds)
    # the workers' arrivals reach the master, and together they make RATE, not 2 x RATE
    assert ran_s >= 3 and RATE * ran_s * 0.5 < offered < RATE * ran_s * 1.5
    assert sum(row["dropped"] for row in seconds) > 0
