"""Helpers for the load-test suite: ports, subprocesses, seeding over HTTP, Locust's
command line. A plain module (not conftest) so tests can import it by a unique name."""
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loadtests.run.bank import BankProcess, free_port


ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
ADMIN_TOKEN = "loadtest-admin-token"
SEEDED_USERS = 12
BANKSIM = Path(sys.executable).with_name("banksim")


def stop(process: subprocess.Popen) -> None:
    """Terminate a subprocess we started (then kill it if it lingers)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass
class Bank:
    url: str


@contextlib.contextmanager
def seeded_bank(workdir: Path, chaos: bool = False) -> Iterator[Bank]:
    """A bank on 127.0.0.1 (one gunicorn worker, SQLite in `workdir`) with SEEDED_USERS
    customers user{n}@example.com / banksim, stopped on the way out. Chaos is off unless
    asked for: runs without a timeline must be all green."""
    env = {**os.environ, "BANKSIM_DATABASE_URL": f"sqlite:///{workdir / 'bank.db'}",
           "BANKSIM_ADMIN_TOKEN": ADMIN_TOKEN, "BANKSIM_CHAOS": "1" if chaos else "0",
           "BANKSIM_PASSWORD_HASH": "pbkdf2:sha256:1000"}
    seed = [str(BANKSIM), "seed", "--users", str(SEEDED_USERS), "--months", "1"]
    subprocess.run(seed, env=env, cwd=workdir, capture_output=True, timeout=120, check=True)
    server = BankProcess(env, free_port(), 1, workdir / "serve.log")
    try:
        server.wait_healthy(30)
        yield Bank(server.url)
    finally:
        server.stop()


def locust_command(bank: Bank, *args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", bank.url,
            "--seeded-users", str(SEEDED_USERS), "--think-min", "0.1", "--think-max", "0.5",
            "--only-summary", "--loglevel", "INFO", *args]


def _proc(pid: int, name: str) -> bytes:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def command_line(pid: int) -> str:
    return _proc(pid, "cmdline").replace(b"\0", b" ").decode(errors="replace")


def identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time): one process even if its pid is reused later; None when it is
    gone or a zombie (dead, only waiting for its parent to read its exit status)."""
    stat = _proc(pid, "stat").decode(errors="replace")
    fields = stat.rpartition(")")[2].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    return pid, fields[19]


def descendants(pid: int) -> set[tuple[int, str]]:
    """Every live process under `pid` (children in their own sessions included), by
    identity: the parent links in /proc, followed down."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _proc(int(entry.name), "stat").decode(errors="replace")
            fields = fields.rpartition(")")[2].split()
            if fields:
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), ()):
            if (who := identity(child)) is not None:
                found.add(who)
            todo.append(child)
    return found


def still_running(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    return {p for p in processes if identity(p[0]) == p}
