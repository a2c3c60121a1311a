"""The SQLite writers' queue (`bankapi/database/writers.py`): one writer at a time across threads
and processes, woken when the turn frees; re-entrant; no file beside the database."""
import subprocess
import sys
import threading
import time

from bankapi.database.writers import LOCK_SLOTS, WriterQueue


def test_threads_take_turns_one_at_a_time(tmp_path):
    queue, inside, most = WriterQueue(tmp_path / "bank.db"), [0], [0]
    guard = threading.Lock()

    def writer():
        for _ in range(50):
            with queue.turn():
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.0002)
                with guard:
                    inside[0] -= 1

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1


def test_a_turn_inside_a_turn_is_the_same_turn(tmp_path):
    queue = WriterQueue(tmp_path / "bank.db")
    with queue.turn():
        with queue.turn():  # would wait for itself forever if it were not re-entrant
            pass
    with queue.turn():  # and both levels were handed back
        pass


HOLDER = """
import sys, time
from pathlib import Path
from bankapi.database.writers import LOCK_SLOTS, WriterQueue
with WriterQueue(Path(sys.argv[1])).turn():
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_another_process_waits_its_turn_and_is_woken(tmp_path):
    database = tmp_path / "bank.db"
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(database), "1.0"],
                          stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout.readline().strip() == "holding"
        began = time.monotonic()
        with WriterQueue(database).turn():
            waited = time.monotonic() - began
        holder.wait(timeout=30)
    assert holder.returncode == 0
    assert waited > 0.5  # the other process held the turn for 1 s after saying so


def test_the_lock_file_is_not_beside_the_database(tmp_path):
    database = tmp_path / "bank.db"
    queue = WriterQueue(database)
    with queue.turn():
        pass
    assert list(tmp_path.iterdir()) == []
    assert queue.lock_file == WriterQueue(tmp_path / "." / "bank.db").lock_file  # one per file


def test_lock_files_stay_few_however_many_databases(tmp_path):
    files = {WriterQueue(tmp_path / f"bank{n}.db").lock_file for n in range(500)}
    assert 32 < len(files) <= LOCK_SLOTS  # a bounded set, spread over its slots


def test_an_in_memory_database_queues_threads_only():
    queue = WriterQueue(None)
    assert queue.lock_file is None
    with queue.turn():
        pass
