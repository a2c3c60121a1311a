"""R1: balance reads on `banksim serve` against a bare Flask JSON route (`bare_app.py`),
side by side in one run, and the wrk helper every wrk-driven row of run.py uses.

R1 starts, besides the bench's own bank (JSON access log off), a bank with the server's
defaults and one whose single reads run inside the request's transaction
(BANKSIM_SINGLE_READ_TRANSACTION=1), all on the bench's database and on the same gunicorn
settings as the bare route; rounds interleave every variant, and each ratio is a median.
`profile_read.py` breaks the same read down in-process.
"""
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from benchmarks.proc import server_cpu_seconds
from loadtests.run.bank import BankProcess, free_port

ROOT = Path(__file__).resolve().parent

WRK_CONNECTIONS = 16


def wrk(url: str, seconds: int, connections: int = WRK_CONNECTIONS, headers=(),
        script: str | None = None, env=None) -> float:
    """Requests per second that wrk sustained (non-2xx answers are reported separately)."""
    return wrk_run(url, seconds, connections, headers, script, env)[0]


def wrk_run(url: str, seconds: int, connections: int = WRK_CONNECTIONS, headers=(),
            script: str | None = None, env=None) -> tuple[float, int]:
    """wrk's requests per second and the number of requests it completed."""
    cmd = ["wrk", "-t", "2" if connections > 1 else "1", "-c", str(connections), "-d",
           f"{seconds}s", "--latency"]
    for header in headers:
        cmd += ["-H", header]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, env=env, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        print(f"    warning: {bad.group(1)} non-2xx answers from {url}")
    return (float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            int(re.search(r"(\d+) requests in", out).group(1)))


def wait_until_up(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} never answered")



R1_VARIANTS = (  # (what, environment changes) of the banks R1 starts besides the bench's
    ("server defaults (JSON access log on)", {"BANKSIM_ACCESS_LOG": None}),
    ("single reads in the request's transaction (BEGIN/ROLLBACK), access log on",
     {"BANKSIM_ACCESS_LOG": None, "BANKSIM_SINGLE_READ_TRANSACTION": "1"}),
)


def r1_vs_bare_flask(bench, seconds: int, rounds: int = 2) -> list[dict]:
    """Balance reads against a bare Flask route, side by side: the server's defaults, the
    access log off (the bench's own bank) and single reads inside a transaction. Besides
    requests per second, each server's CPU time per request (master and workers, from
    /proc), which a loaded machine disturbs far less than throughput."""
    port = free_port()
    bare = subprocess.Popen([sys.executable, str(ROOT / "bare_app.py"), str(port),
                             str(bench.args.workers), "8"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    banks = []
    try:
        for n, (_what, changes) in enumerate(R1_VARIANTS):
            env = {k: v for k, v in {**bench.env, **changes}.items() if v is not None}
            banks.append(BankProcess(env, free_port(), bench.args.workers, Path(
                tempfile.gettempdir()) / f"banksim-bench-r1-{n}.log"))
        bare_url = f"http://127.0.0.1:{port}/bare/balance"
        wait_until_up(bare_url)
        for bank in banks:
            bank.wait_healthy()
        user = bench.users[0]
        read = f"/accounts/{user['account']}/balance"
        headers = [f"Authorization: Bearer {user['token']}", "X-App-Version: 4.1.3",
                   "X-Platform: ios"]
        targets = [("bare", bare_url, (), bare.pid)]
        targets += [(what, bank.url + read, headers, bank.process.pid)
                    for (what, _), bank in zip(R1_VARIANTS, banks, strict=True)]
        targets.append(("JSON access log off", bench.url + read, headers, bench.bank.process.pid))
        rps = {what: [] for what, *_ in targets}
        cpu_ms = {what: [] for what, *_ in targets}
        for _ in range(rounds):  # interleave to share whatever else the machine is doing
            for what, url, sent, pid in targets:
                before = server_cpu_seconds(pid)
                rate, done = wrk_run(url, seconds, headers=sent)
                rps[what].append(rate)
                cpu_ms[what].append((server_cpu_seconds(pid) - before) * 1000 / max(done, 1))
    finally:
        for bank in banks:
            bank.stop()
        bare.terminate()
        bare.wait()
    c, c_cpu = statistics.median(rps["bare"]), statistics.median(cpu_ms["bare"])
    rows = []
    for what, *_ in targets[1:]:
        b, b_cpu = statistics.median(rps[what]), statistics.median(cpu_ms[what])
        rows.append({"id": "R1", "measures": f"GET balance on banksim serve, {what} / bare "
                     f"Flask JSON route (median of {rounds}, interleaved; server CPU a "
                     f"request {b_cpu:.3f} / {c_cpu:.3f} ms = {c_cpu / b_cpu:.2f} of the bare "
                     "route's rate)",
                     "a": f"{b:.0f} req/s", "b": f"{c:.0f} req/s", "ratio": b / c,
                     "target": ">= 0.6" if what.startswith("server defaults") else "report"})
    return rows
