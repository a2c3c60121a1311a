"""R5: simulated phones one Locust process (one core) carries, and what FastHttpUser saved.

One headless Locust process runs `--phones` phones of loadtests/locustfile.py at the
incident's think times (scenarios/bad-release.yaml: 1-4 s) against `banksim serve`. After
the ramp, the process's CPU time is read from /proc over `steady_s`: CPU seconds per
phone-minute, and per HTTP request (Locust's stats history gives the requests in the same
window), so a bank slowed by a busy machine does not flatter the figure.

With `--r5-baseline REV` the locustfile and package of git revision REV (e.g. one whose
phones are Locust's HttpUser) run too, interleaved with the current code (REV, current,
REV, current, ... `--repeat` pairs): the ratio of their CPU per phone-minute is the saving.

    python -m benchmarks.run --only R5 --phones 300 --r5-baseline <git rev> --repeat 2
"""
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.proc import cpu_seconds

ROOT = Path(__file__).resolve().parents[1]


def checkout(rev: str) -> Path:
    """loadtests/ of git revision `rev` in a temporary directory (imported before ours)."""
    where = Path(tempfile.mkdtemp(prefix=f"r5-{rev}-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "loadtests"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def one_run(url: str, phones: int, think: tuple[float, float], code: Path | None,
            ramp_s: int = 25, steady_s: int = 40) -> dict:
    """One Locust process: CPU per phone-minute and per request over the steady window."""
    prefix = Path(tempfile.mkdtemp()) / "r5"
    env = dict(os.environ)
    locustfile = ROOT / "loadtests" / "locustfile.py"
    if code is not None:
        env["PYTHONPATH"] = str(code)
        locustfile = code / "loadtests" / "locustfile.py"
    cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", url,
           "-u", str(phones), "-r", str(phones / ramp_s), "-t", f"{ramp_s + steady_s + 10}s",
           "--seeded-users", "40", "--think-min", str(think[0]), "--think-max", str(think[1]),
           "--only-summary", "--csv", str(prefix), "--loglevel", "WARNING"]
    locust = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, env=env)
    time.sleep(ramp_s + 5)
    cpu0, wall0 = cpu_seconds(locust.pid), time.time()
    time.sleep(steady_s)
    cpu1, wall1 = cpu_seconds(locust.pid), time.time()
    _, log = locust.communicate(timeout=120)
    with open(f"{prefix}_stats.csv") as stats:
        rows = [r for r in csv.DictReader(stats) if r["Name"] != "Aggregated"]
    journeys = [r for r in rows if r["Type"] == "JOURNEY"]
    http = sum(int(r["Request Count"]) for r in rows if r["Type"] != "JOURNEY")
    events = http + sum(int(r["Request Count"]) for r in journeys)
    # the history counts journeys as requests too: scale its window to HTTP requests
    window = _events_between(f"{prefix}_stats_history.csv", wall0, wall1) * http / events
    minutes = (wall1 - wall0) / 60
    cpu = cpu1 - cpu0
    return {"cpu_per_phone_min": cpu / (phones * minutes), "share": cpu / (wall1 - wall0),
            "cpu_ms_per_request": 1000 * cpu / window if window else float("nan"),
            "requests_per_phone_min": window / (phones * minutes),
            "journeys": sum(int(r["Request Count"]) for r in journeys),
            "failed": sum(int(r["Failure Count"]) for r in journeys),
            "saturated": "CPU usage above 90%" in log}


def _events_between(history: str, start: float, end: float) -> float:
    """Requests Locust counted between two wall-clock times (its 1 s history, Aggregated)."""
    points = []
    with open(history) as rows:
        for row in csv.DictReader(rows):
            if row["Name"] == "Aggregated":
                points.append((float(row["Timestamp"]), int(row["Total Request Count"])))

    def at(t):
        return max((count for stamp, count in points if stamp <= t), default=0)
    return at(end) - at(start)


def _describe(label: str, runs: list[dict]) -> str:
    cpu = ", ".join(f"{r['cpu_per_phone_min']:.3f}" for r in runs)
    per_request = statistics.median(r["cpu_ms_per_request"] for r in runs)
    throughput = statistics.median(r["requests_per_phone_min"] for r in runs)
    failed = sum(r["failed"] for r in runs)
    return (f"{label}: CPU s per phone-minute {cpu}; {per_request:.2f} ms CPU per request; "
            f"{throughput:.1f} requests per phone-minute; {failed} of "
            f"{sum(r['journeys'] for r in runs)} journeys failed"
            + ("; Locust warned of CPU saturation" if any(r["saturated"] for r in runs) else ""))


def r5_rows(url: str, phones: int, think: tuple[float, float], baseline: str | None,
            repeat: int) -> list[dict]:
    code = checkout(baseline) if baseline else None
    current, before = [], []
    for _ in range(max(repeat, 1)):
        if code is not None:
            before.append(one_run(url, phones, think, code))
            print("    R5 " + _describe(f"{baseline}", before[-1:]))
        current.append(one_run(url, phones, think, None))
        print("    R5 " + _describe("current", current[-1:]))
    cost = statistics.median(r["cpu_per_phone_min"] for r in current)
    share = statistics.median(r["share"] for r in current)
    think_s = f"think {think[0]:g}-{think[1]:g} s"
    rows = [{"id": "R5", "measures": f"simulated phones per Locust process (one core), "
             f"{think_s}: {phones} phones used {share:.0%} of a core (median of "
             f"{len(current)}); " + _describe("FastHttpUser", current),
             "a": f"{60 / cost:,.0f} phones at 100 % of a core", "b": "1,000 phones",
             "ratio": 60 / cost / 1000, "target": ">= 1,000 (ratio >= 1)"}]
    if code is not None:
        old = statistics.median(r["cpu_per_phone_min"] for r in before)
        rows.append({"id": "R5", "measures": f"Locust CPU per phone-minute, {think_s}, "
                     f"{phones} phones, interleaved: {baseline} (HttpUser) / current "
                     f"(FastHttpUser); " + _describe(f"{baseline}", before),
                     "a": f"{old:.3f} s", "b": f"{cost:.3f} s", "ratio": old / cost,
                     "target": "report"})
    return rows
