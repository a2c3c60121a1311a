"""A run's progress bar: the scenario's time and the journeys finished and failed so far,
read from the journeys.jsonl Locust appends to."""
import json
import subprocess
import time
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from loadtests.scenario import Scenario


def watch(process: subprocess.Popen, sc: Scenario, journeys: Path, console,
           label: str | None = None) -> None:
    """A progress bar for the run, with the journeys finished and failed so far."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.fields[status]}"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label or f"{sc.name}, {sc.users} users", total=sc.duration_s,
                                 status="starting")
        started, tail = time.monotonic(), JournalTail(journeys)
        while process.poll() is None:
            tail.read_new()
            progress.update(task, completed=min(time.monotonic() - started, sc.duration_s),
                            status=f"{tail.journeys} journeys, {tail.failed} failed")
            time.sleep(1)


class JournalTail:
    """Counts the journeys Locust appends to journeys.jsonl, reading only what is new (a
    thousand phones write a few hundred lines a second: re-reading it all every second
    would cost the runner more CPU than it has)."""

    def __init__(self, path: Path):
        self.path, self.offset, self.journeys, self.failed = path, 0, 0, 0

    def read_new(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        complete = chunk[:chunk.rfind(b"\n") + 1]  # a line being written waits a second
        self.offset += len(complete)
        for line in complete.splitlines():
            if line.strip():
                self.journeys += 1
                self.failed += not json.loads(line)["ok"]
