"""CPU seconds of processes, read from /proc (Linux): one reading for every benchmark."""
import os
from pathlib import Path

HZ = os.sysconf("SC_CLK_TCK")


def stat(pid: int) -> tuple[int, float]:
    """(parent pid, user + system CPU seconds) of one process; OSError once it is gone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / HZ


def cpu_seconds(pid: int) -> float:
    return stat(pid)[1]


def server_cpu_seconds(pid: int) -> float:
    """A server's CPU: its master and the workers it has now."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0.0
    for each in [pid, *map(int, children)]:
        try:
            total += cpu_seconds(each)
        except FileNotFoundError:
            continue
    return total
