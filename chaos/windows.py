"""Sticky per-device windows (the offline fault): when each device's window ends, shared by
every server process through chaos's tables.

A window is keyed by (rule, device, burst cycle): the first process to see a device's
hit inserts the row, and a process that loses that race reads the winner's row, so
every process agrees on one window per device. What a process has read it keeps (a
window never changes once written), so a device inside or past its window costs no
database read; a device of the rule's cohort with no window yet costs one primary-key
read per request, which is how a hit in another process is never missed.

The device id is stored as a hash, so an id of any length is one key. Rows go with their
rule, and a device's rows of earlier cycles go when its next window opens.

What can go wrong: a database that cannot be read or written makes the window this
process's alone (logged once per WARN_EVERY_S); the request is still judged.
"""
import hashlib
import logging
import threading
import time

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .models import ChaosDeviceWindow

log = logging.getLogger("chaos")
MAX_KNOWN = 100_000  # windows a process remembers; past this it forgets them all
WARN_EVERY_S = 30.0


def device_key(device_id: str) -> str:
    return hashlib.blake2b(device_id.encode("utf-8", "replace"), digest_size=16).hexdigest()


class DeviceWindows:
    def __init__(self, store):
        self.store = store
        self._known: dict[tuple[str, str, int], float] = {}
        self._lock = threading.Lock()
        self._warned_at = -WARN_EVERY_S

    def until(self, rule_id: str, device_id: str, cycle: int) -> float | None:
        """When the device's window in this cycle ends (epoch s), None when it has none."""
        key = (rule_id, device_key(device_id), cycle)
        known = self._known.get(key)
        if known is not None:
            return known
        try:
            with self.store.transaction() as session:
                found = session.scalar(_select(key))
        except SQLAlchemyError as exc:
            self._warn(exc)
            return None
        if found is not None:
            self._remember(key, found)
        return found

    def open(self, rule_id: str, device_id: str, cycle: int, for_s: float,
             now_s: float) -> float:
        """Open the device's window now, unless a process already did; its end."""
        key = (rule_id, device_key(device_id), cycle)
        rule, device, _ = key
        try:
            try:
                with self.store.transaction() as session:
                    session.execute(delete(ChaosDeviceWindow).where(
                        ChaosDeviceWindow.rule_id == rule, ChaosDeviceWindow.device_key == device,
                        ChaosDeviceWindow.cycle < cycle))
                    session.execute(insert(ChaosDeviceWindow).values(
                        rule_id=rule, device_key=device, cycle=cycle, until_s=now_s + for_s))
                until = now_s + for_s
            except IntegrityError:  # another process opened it first: theirs is the window
                with self.store.transaction() as session:
                    until = session.scalar(_select(key))
        except SQLAlchemyError as exc:
            self._warn(exc)
            until = now_s + for_s
        until = now_s + for_s if until is None else until
        self._remember(key, until)
        return until

    def _remember(self, key, until: float) -> None:
        with self._lock:
            if len(self._known) >= MAX_KNOWN:
                self._known.clear()
            self._known[key] = until

    def _warn(self, exc: Exception) -> None:
        if time.monotonic() - self._warned_at >= WARN_EVERY_S:
            self._warned_at = time.monotonic()
            log.warning("chaos: device windows not shared, the database failed: %s", exc)


def _select(key):
    rule, device, cycle = key
    return select(ChaosDeviceWindow.until_s).where(
        ChaosDeviceWindow.rule_id == rule, ChaosDeviceWindow.device_key == device,
        ChaosDeviceWindow.cycle == cycle)
