"""How many simulated phones `banksim incident` carries on this machine (R12).

    python -m benchmarks.capacity --users 300,600,1000 --duration 120
    python -m benchmarks.capacity --users 1000 --duration 120 --profile    # + py-spy

Each N is one real `banksim incident --users N` (bad-release, its default think times and
arrivals), in a fresh report directory. A run *holds* when every good version (all but
the incident's) kept >= 99.9 % journey success in every phase, the login journey's p95
stayed within 2 s, every good version's app_open p95 within 2 s (what a phone's user
waits for to see their money), and the incident's version was still visibly hurt (its
incident-phase success below the good versions' worst). The ceiling is the largest N that held.

While a run goes, the CPU seconds of its processes are read from /proc every second and
summed by role: `bank` (gunicorn master and workers), `locust`, `runner` (the incident
command and its seed). With --profile, py-spy samples each bank worker and Locust for
30 s in the middle of the run (`pip install py-spy`), only the thread holding the GIL
(CPU, not time spent waiting for SQLite's write lock or the network), and each sample
goes to one bucket by the innermost frame that names one (BUCKETS): password hashing,
the database driver, SQLAlchemy, metrics, chaos, the bank's code, Flask and co., or
Locust's HTTP client. Nothing here is run by the test suite.
"""
import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.proc import stat

GOOD_SUCCESS, LOGIN_P95_MS, APP_OPEN_P95_MS = 0.999, 2000, 2000
BUCKETS = (  # a sample goes to the first bucket its innermost matching frame names
    ("password hash", ("werkzeug/security.py", "hashlib")),
    ("database driver", ("do_execute ", "do_executemany ", "do_commit ", "do_rollback ",
                         "sqlite3", "psycopg")),
    ("sqlalchemy", ("sqlalchemy/",)),
    ("metrics", ("prometheus_client/", "web/metrics.py")),
    ("chaos", ("chaos/",)),
    ("bank code (bankapi)", ("bankapi/",)),
    ("flask, apiflask, marshmallow, gunicorn", ("flask/", "werkzeug/", "apiflask/",
                                                "marshmallow/", "webargs/", "gunicorn/")),
    ("locust http client", ("geventhttpclient/", "requests/", "urllib3/", "http/client")),
    ("phone logic (loadtests)", ("loadtests/",)),
    ("locust and gevent", ("locust/", "gevent/")),
)


def processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, CPU seconds) of every process we may read."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            parent, cpu = stat(int(name))
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(name)] = (parent, command, cpu)
    return found


def descendants(root: int, table: dict) -> set[int]:
    children = collections.defaultdict(set)
    for pid, (parent, _, _) in table.items():
        children[parent].add(pid)
    seen, todo = set(), [root]
    while todo:
        pid = todo.pop()
        seen.add(pid)
        todo += children[pid] - seen
    return seen


def role(command: str) -> str:
    if "locust" in command:
        return "locust"
    if " serve " in f"{command} " or command.startswith("gunicorn"):  # workers' title
        return "bank"
    return "runner"


def profile(pids: dict[str, list[int]], out: Path, seconds: int) -> dict:
    """py-spy on each process for `seconds`; {role: {bucket: share of samples}}."""
    jobs = []
    for name, group in pids.items():
        for pid in group:
            path = out / f"py-spy-{name}-{pid}.txt"
            jobs.append((name, path, subprocess.Popen(
                ["py-spy", "record", "--pid", str(pid), "--duration", str(seconds),
                 "--rate", "50", "--gil", "--format", "raw", "--output", str(path),
                 "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    try:
        for _, _, job in jobs:
            job.wait()
    finally:  # stopped early: py-spy goes too
        for _, _, job in jobs:
            if job.poll() is None:
                job.kill()
                job.wait()
    samples: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for name, path, _ in jobs:
        if path.exists():
            for line in path.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                samples[name][bucket(stack)] += int(count)
    return {name: {k: round(v / sum(c.values()), 3) for k, v in c.most_common()}
            for name, c in samples.items()}


def bucket(stack: str) -> str:
    for frame in reversed(stack.split(";")):
        for name, needles in BUCKETS:
            if any(needle in frame for needle in needles):
                return name
    return "other"


def run_one(users: int, args, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "banksim", "incident", "--users", str(users),
               "--duration", f"{args.duration}s", "--seed", str(args.seed), "--out", str(out)]
    started = time.monotonic()
    with open(out / "incident.log", "w") as log:
        runner = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        return _measure(runner, users, args, out, started)
    finally:  # Ctrl-C, SIGTERM, SIGHUP: the incident stops everything it started
        if runner.poll() is None:
            runner.send_signal(signal.SIGTERM)
            runner.wait(timeout=60)


def _measure(runner: subprocess.Popen, users: int, args, out: Path, started: float) -> dict:
    cpu: dict[int, tuple[str, float]] = {}
    profiled = None
    while runner.poll() is None:
        table = processes()
        for pid in descendants(runner.pid, table) & table.keys():
            known = cpu.get(pid, (None,))[0]  # a zombie's command line reads empty
            cpu[pid] = (known or role(table[pid][1]), table[pid][2])
        elapsed = time.monotonic() - started
        if args.profile and profiled is None and elapsed > args.profile_after:
            pids = collections.defaultdict(list)
            for pid, (name, _) in cpu.items():
                if pid in table and name in ("bank", "locust"):
                    pids[name].append(pid)
            profiled = profile(pids, out, 30)
        time.sleep(1)
    wall = time.monotonic() - started
    by_role = collections.Counter()
    for name, seconds in cpu.values():
        by_role[name] += seconds
    return {"users": users, "exit": runner.returncode, "wall_s": round(wall, 1),
            "cpu_s": {k: round(v, 1) for k, v in by_role.items()},
            **judge(out), "profile": profiled}


def judge(out: Path) -> dict:
    """The run's figures against the capacity bar (see the module docstring)."""
    try:
        report = json.loads((out / "report.json").read_text())
    except (OSError, ValueError):
        return {"held": False, "why": "no report"}
    # the incident's own release is the bad one; the detector's list would also name every
    # version an overloaded bank failed, and leave no good version to judge
    bad = {report["incident"].get("release")}
    rows = collections.defaultdict(lambda: [0, 0])
    for row in report["journeys"]:
        key = (row["app_version"], row["phase"])
        rows[key][0] += row["attempts"]
        rows[key][1] += row["succeeded"]
    good = {k: ok / n for k, (n, ok) in rows.items() if k[0] not in bad and n}
    hurt = [ok / n for (version, phase), (n, ok) in rows.items()
            if version in bad and phase == "incident" and n]
    logins = sorted(json.loads(line)["duration_ms"] for line in
                    (out / "journeys.jsonl").read_text().splitlines()
                    if '"journey": "login"' in line or '"journey":"login"' in line)
    login_p95 = logins[int(0.95 * (len(logins) - 1))] if logins else None
    good_ms = sorted(row["p95_ms"] for row in report["latency"]
                     if row["app_version"] not in bad and row["journey"] == "app_open")
    worst = min(good.values()) if good else 0.0
    worst_at = min(good, key=good.get) if good else None
    bad_success = min(hurt) if hurt else None
    held = (worst >= GOOD_SUCCESS and (login_p95 is None or login_p95 <= LOGIN_P95_MS)
            and bool(good_ms) and good_ms[-1] <= APP_OPEN_P95_MS
            and bad_success is not None and bad_success < worst)
    return {"held": held, "good_worst": round(worst, 4), "good_worst_at": worst_at,
            "logins": len(logins), "login_p95_ms": login_p95 and round(login_p95),
            "app_open_p95_ms": good_ms and round(good_ms[-1]),  # the worst good version's
            "bad_incident_success": bad_success and round(bad_success, 4),
            "journeys": sum(n for n, _ in rows.values()),
            "integrity_ok": report["integrity"].get("ok"),
            "server_rps": (report.get("server") or {}).get("requests_per_s")}


def _stop(signum, _frame):
    raise SystemExit(128 + signum)


def main() -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="300,600,1000", help="comma-separated N to try")
    parser.add_argument("--duration", type=int, default=120)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="py-spy each run's processes")
    parser.add_argument("--profile-after", type=float, default=60,
                        help="seconds into the command when profiling starts")
    parser.add_argument("--out", type=Path, default=Path("reports/capacity"))
    args = parser.parse_args()
    results = []
    for users in (int(n) for n in args.users.split(",")):
        result = run_one(users, args, args.out / f"users-{users}")
        results.append(result)
        print(json.dumps(result), flush=True)
    held = [r["users"] for r in results if r["held"]]
    print(f"ceiling: {max(held) if held else 'none of'} phones held "
          f"(good versions >= {GOOD_SUCCESS:.1%} every phase, login p95 <= {LOGIN_P95_MS} ms, "
          f"good versions' app_open p95 <= {APP_OPEN_P95_MS} ms, the bad version hurt)")
    (args.out / "capacity.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
