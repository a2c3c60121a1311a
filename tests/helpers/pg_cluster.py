"""A throwaway PostgreSQL cluster for one test: initdb in a temporary directory, pg_ctl on a
free loopback port, a SIGKILL of the postmaster, a restart, and no trace left behind.

initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user
(`runuser -u postgres --`) in a directory that user owns.
"""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from loadtests.run.bank import free_port


def unavailable_reason() -> str | None:
    """Why a cluster cannot be made here (None: it can)."""
    for tool in ("initdb", "pg_ctl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing (initdb refuses root)"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run initdb as"
    return None


class Cluster:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="banksim-pg-"))
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60, check: bool = True):
        result = subprocess.run([*self.as_user, *args], capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stderr[-1500:]}\n{self.server_log()}")
        return result

    def server_log(self) -> str:
        return self.log.read_text()[-1500:] if self.log.exists() else ""

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")

    def start(self, timeout_s: float = 30) -> None:
        """Start the postmaster; after a crash, wait until the old backends are gone."""
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=60 -c shared_buffers=16MB")
        deadline = time.monotonic() + timeout_s
        while True:
            result = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w",
                               "-t", "30", "-o", options, "start", check=False)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"pg_ctl start failed: {result.stderr}\n{self.server_log()}")
            time.sleep(0.2)  # "shared memory block is still in use": orphans still exiting

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def kill(self) -> None:
        """SIGKILL the postmaster alone, as the OOM killer would: its backends notice and go."""
        os.kill(self.postmaster_pid(), signal.SIGKILL)

    def destroy(self) -> None:
        """Stop everything of this cluster (the postmaster, orphaned backends) and delete it."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "stop", "-m", "immediate", "-t", "20",
                      check=False)
        for pid in self._processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def _processes(self) -> list[int]:
        """Processes whose working directory is this cluster's data directory: its own."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if Path(os.readlink(entry / "cwd")) == self.data:
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found
