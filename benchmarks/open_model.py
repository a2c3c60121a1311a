"""R13: what the open load model costs the phones' Locust process, per journey, against the
closed model, as a ratio in one run.

One bank (`banksim seed` + `banksim serve`, SQLite in a temporary directory), then Locust
runs of loadtests/locustfile.py against it, interleaved: closed (each phone thinks 1-4 s
between journeys), open (journeys arrive as a Poisson process at the rate the closed run
just reached, on the same number of phones), closed, open, ... `--repeat` pairs. Phones
sign in with their password (a saved session's refresh token is single use: one run would
spend it for the next); the closed model's phones do so during the ramp, the open model's
when an arrival first picks them, which is early too, as it picks the phones that were busy
last. In each run the Locust process's CPU time is read from /proc
over a steady window after the ramp, and the journeys that started in that window are
counted from its journeys.jsonl (their `t_s`, from the run's start: when Locust first
wrote phases.json). The figure is CPU milliseconds per journey started; the ratio is open /
closed (1.0: the arrival process and the waiting phones cost nothing).

    python -m benchmarks.open_model --phones 100 --steady 40 --repeat 2
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.proc import cpu_seconds
from loadtests.run.incident import BankProcess, free_port

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
THINK = (4.0, 12.0)  # a bank that keeps up on a busy 2-core machine


def started_between(journeys: Path, from_s: float, to_s: float) -> int:
    with open(journeys, encoding="utf-8") as rows:
        return sum(1 for row in rows if from_s <= json.loads(row)["t_s"] < to_s)


def one_run(url: str, phones: int, model: str, rate: float, ramp_s: int, steady_s: int,
            users: int) -> dict:
    """One Locust process: CPU ms per journey started over the steady window."""
    work = Path(tempfile.mkdtemp(prefix=f"r13-{model}-"))
    journeys, phases = work / "journeys.jsonl", work / "phases.json"
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
           "-u", str(phones), "-r", str(phones if model == "open" else phones / ramp_s),
           "-t", f"{ramp_s + steady_s + 10}s", "--seeded-users", str(users),
           "--think-min", str(THINK[0]), "--think-max", str(THINK[1]),
           "--journeys-out", str(journeys), "--phases-out", str(phases),
           "--only-summary", "--loglevel", "WARNING"]
    if model == "open":
        cmd += ["--load-model", "open", "--rate", f"{rate:.3f}"]
    locust = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(ramp_s + 5)
        cpu0, wall0 = cpu_seconds(locust.pid), time.time()
        start = phases.stat().st_mtime  # written when the run started (again when it stops)
        time.sleep(steady_s)
        cpu1, wall1 = cpu_seconds(locust.pid), time.time()
        locust.wait(timeout=120)
    finally:
        if locust.poll() is None:
            locust.kill()
            locust.wait()
    started = started_between(journeys, wall0 - start, wall1 - start)
    return {"model": model, "cpu_ms_per_journey": 1000 * (cpu1 - cpu0) / started
            if started else float("nan"),
            "journeys_per_s": started / (wall1 - wall0), "share": (cpu1 - cpu0) / (wall1 - wall0)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=100, help="also the seeded customers")
    parser.add_argument("--ramp", type=int, default=20)
    parser.add_argument("--steady", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="r13-bank-"))
    env = {**os.environ, "BANKSIM_DATABASE_URL": f"sqlite:///{work / 'bank.db'}",
           "BANKSIM_ADMIN_TOKEN": "r13", "BANKSIM_ACCESS_LOG": "0"}
    subprocess.run([sys.executable, "-m", "banksim", "seed", "--users", str(args.phones),
                    "--months", "1", "--reset"], env=env, check=True, capture_output=True)
    bank = BankProcess(env, free_port(), 2, work / "server.log")
    try:
        bank.wait_healthy()
        runs = []
        for _ in range(args.repeat):
            closed = one_run(bank.url, args.phones, "closed", 0, args.ramp, args.steady,
                             args.phones)
            runs.append(closed)
            print(f"  closed: {closed['cpu_ms_per_journey']:.2f} ms CPU per journey, "
                  f"{closed['journeys_per_s']:.1f} journeys/s", flush=True)
            opened = one_run(bank.url, args.phones, "open", closed["journeys_per_s"],
                             args.ramp, args.steady, args.phones)
            runs.append(opened)
            print(f"  open:   {opened['cpu_ms_per_journey']:.2f} ms CPU per journey, "
                  f"{opened['journeys_per_s']:.1f} journeys/s", flush=True)
    finally:
        bank.stop()
    closed = statistics.median(r["cpu_ms_per_journey"] for r in runs if r["model"] == "closed")
    opened = statistics.median(r["cpu_ms_per_journey"] for r in runs if r["model"] == "open")
    print(f"R13 Locust CPU per journey, {args.phones} phones, median of {args.repeat} "
          f"interleaved pairs: open {opened:.2f} ms / closed {closed:.2f} ms = "
          f"{opened / closed:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
