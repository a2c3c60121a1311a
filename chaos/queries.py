"""Reads and writes of chaos's tables. Each function takes a session and never commits:
the caller (ChaosStore) owns the transaction.

Every transaction that changes rules or the kill switch must call `bump_revision`
as its first statement (ChaosStore.changing does). First on purpose: it takes the write lock
up front (on SQLite a deferred transaction that read first could not upgrade
to a writer once another process has written), it serialises concurrent admin
changes, and it is what other processes poll to notice the change.
"""
import re
from typing import NamedTuple

from sqlalchemy import Text, cast, delete, func, insert, select, update
from sqlalchemy.orm import Session

from .models import (ChaosDeviceWindow, ChaosEvent, ChaosPresetRule, ChaosRule, ChaosSettings,
                     ChaosState)

STATE_ID = 1
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # PostgreSQL refuses NUL; UTF-8 surrogates
EVENT_LENGTHS = {column.name: column.type.length for column in ChaosEvent.__table__.columns
                 if getattr(column.type, "length", None)}


def ensure_state(session: Session, seed: int) -> None:
    """Create the state row, or adopt `seed` if it differs (a seed change is a change)."""
    state = session.get(ChaosState, STATE_ID)
    if state is None:
        session.add(ChaosState(id=STATE_ID, enabled=True, seed=seed, revision=1))
    elif state.seed != seed:
        state.seed, state.revision = seed, state.revision + 1


def bump_revision(session: Session) -> None:
    session.execute(update(ChaosState).where(ChaosState.id == STATE_ID)
                    .values(revision=ChaosState.revision + 1))


def state(session: Session) -> ChaosState | None:
    return session.get(ChaosState, STATE_ID)


REVISION = select(ChaosState.revision).where(ChaosState.id == STATE_ID)  # ChaosStore.revision


def set_enabled(session: Session, enabled: bool) -> None:
    session.execute(update(ChaosState).where(ChaosState.id == STATE_ID)
                    .values(enabled=enabled))


OFF = {"header_faults": False, "allow": {"devices": [], "users": []}}


def settings(session: Session) -> dict:
    """The caller-chosen fault setting (off, nobody allowed, until an admin sets it)."""
    row = session.get(ChaosSettings, STATE_ID)
    if row is None:
        return OFF
    return {"header_faults": row.header_faults, "allow": row.allow}


def set_settings(session: Session, values: dict) -> None:
    row = session.get(ChaosSettings, STATE_ID)
    if row is None:
        session.add(ChaosSettings(id=STATE_ID, **values))
    else:
        row.header_faults, row.allow = values["header_faults"], values["allow"]


def rules(session: Session) -> list[ChaosRule]:
    return list(session.scalars(select(ChaosRule).order_by(ChaosRule.seq)))


def count_rules(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ChaosRule))


class RuleDefinition(NamedTuple):
    """What the decider compiles, with the JSON columns as the stored text. A plain
    tuple, hashed and compared in C: equal to the same definition read again, which is how
    the decider tells an unchanged rule (reuse its compiled form) from a new or edited one,
    and parses only those. No counters: they move on every fault, no part of a definition."""

    id: str
    phase: str
    probability: float
    ttl_s: float | None
    created_s: float
    match: str | None
    fault: str
    pattern: str | None


_DEFINITIONS = select(ChaosRule.id, ChaosRule.phase, ChaosRule.probability, ChaosRule.ttl_s,
                      ChaosRule.created_s, cast(ChaosRule.match, Text).label("match"),
                      cast(ChaosRule.fault, Text).label("fault"),
                      cast(ChaosRule.pattern, Text).label("pattern")
                      ).where(ChaosRule.enabled.is_(True)).order_by(ChaosRule.seq)


def enabled_definitions(session: Session) -> list[RuleDefinition]:
    """One per enabled rule, in creation order."""
    return list(map(RuleDefinition._make, session.execute(_DEFINITIONS)))


def rule(session: Session, rule_id: str) -> ChaosRule | None:
    return session.scalar(select(ChaosRule).where(ChaosRule.id == rule_id))


def add_rule(session: Session, rule_id: str, fields: dict, created_s: float) -> ChaosRule:
    row = ChaosRule(id=rule_id, created_s=created_s, matched=0, injected=0, **fields)
    session.add(row)
    session.flush()
    return row


def update_rule(session: Session, row: ChaosRule, fields: dict) -> ChaosRule:
    for name, value in fields.items():
        setattr(row, name, value)
    session.flush()
    return row


def delete_rules(session: Session, rule_ids: list[str] | None = None) -> int:
    """Delete the given rules (all when `rule_ids` is None); return how many went."""
    statement, links = delete(ChaosRule), delete(ChaosPresetRule)
    windows = delete(ChaosDeviceWindow)
    if rule_ids is not None:
        statement = statement.where(ChaosRule.id.in_(rule_ids))
        links = links.where(ChaosPresetRule.rule_id.in_(rule_ids))
        windows = windows.where(ChaosDeviceWindow.rule_id.in_(rule_ids))
    session.execute(links)
    session.execute(windows)
    return session.execute(statement).rowcount


def preset_rule_ids(session: Session, preset: str) -> list[str]:
    """The rules an earlier application of `preset` added (and that still exist)."""
    return list(session.scalars(select(ChaosPresetRule.rule_id)
                                .where(ChaosPresetRule.preset == preset)))


def remember_preset(session: Session, preset: str, rule_ids: list[str]) -> None:
    if rule_ids:
        session.execute(insert(ChaosPresetRule),
                        [{"rule_id": rule_id, "preset": preset} for rule_id in rule_ids])


def expired_rule_ids(session: Session, now_s: float) -> list[str]:
    return list(session.scalars(select(ChaosRule.id).where(
        ChaosRule.ttl_s.is_not(None), ChaosRule.created_s + ChaosRule.ttl_s <= now_s)))


def add_counts(session: Session, counts: dict[str, tuple[int, int]]) -> None:
    """Add (matched, injected) to each rule's counters; rules deleted meanwhile are skipped."""
    for rule_id, (matched, injected) in sorted(counts.items()):
        session.execute(update(ChaosRule).where(ChaosRule.id == rule_id).values(
            matched=ChaosRule.matched + matched, injected=ChaosRule.injected + injected))


def storable(event: dict) -> dict:
    """The event with every text field fit for its column: NUL and lone surrogates become
    U+FFFD and the text is cut to the column's length. The fields come from clients (a
    20-character method, a NUL in a path), and one row that PostgreSQL refuses would
    fail the insert of the whole batch, other requests' events with it."""
    return {name: UNSTORABLE.sub("\ufffd", value)[:EVENT_LENGTHS[name]]
            if isinstance(value, str) and name in EVENT_LENGTHS else value
            for name, value in event.items()}


def add_events(session: Session, events: list[dict], keep: int) -> None:
    """Append events and drop all but the newest `keep`."""
    if events:
        session.execute(insert(ChaosEvent), [storable(event) for event in events])
    newest = session.scalar(select(func.max(ChaosEvent.id)))
    if newest is not None and newest > keep:
        session.execute(delete(ChaosEvent).where(ChaosEvent.id <= newest - keep))


def events(session: Session, limit: int) -> list[ChaosEvent]:
    return list(session.scalars(select(ChaosEvent).order_by(ChaosEvent.id.desc()).limit(limit)))
