"""chaos's own tables (its own MetaData, all prefixed `chaos_`), shared by every process.

`chaos_state` has one row: the kill switch, the seed and a revision number that
every change to rules or state increments; processes poll only that number and
reload the rules when it moves. Counters are not part of the revision: they
change on every injected fault and must not make every process reload.
"""
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base for chaos only; the host app's metadata never sees these tables."""


class ChaosState(Base):
    __tablename__ = "chaos_state"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    seed: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class ChaosRule(Base):
    __tablename__ = "chaos_rules"

    seq: Mapped[int] = mapped_column(primary_key=True)  # creation order: first match wins
    id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean)
    match: Mapped[dict[str, Any]] = mapped_column(JSON)
    fault: Mapped[dict[str, Any]] = mapped_column(JSON)
    phase: Mapped[str] = mapped_column(String(10))
    probability: Mapped[float] = mapped_column(Float)
    pattern: Mapped[dict[str, Any]] = mapped_column(JSON)
    ttl_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_s: Mapped[float] = mapped_column(Float)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    injected: Mapped[int] = mapped_column(Integer, default=0)


class ChaosPresetRule(Base):
    """Which preset added which rule, so applying the preset again replaces them.

    A table of its own (not a column of chaos_rules) so that `create_all` adds it to a
    database made by an older banksim without a migration."""

    __tablename__ = "chaos_preset_rules"

    rule_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    preset: Mapped[str] = mapped_column(String(64), index=True)


class ChaosDeviceWindow(Base):
    """When a device's window under a sticky fault (offline) ends: one row per rule, device
    and burst cycle, written by the process that saw the device's first hit."""

    __tablename__ = "chaos_device_windows"

    rule_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    device_key: Mapped[str] = mapped_column(String(32), primary_key=True)  # a hash: any length
    cycle: Mapped[int] = mapped_column(Integer, primary_key=True)
    until_s: Mapped[float] = mapped_column(Float)


class ChaosEvent(Base):
    __tablename__ = "chaos_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at_s: Mapped[float] = mapped_column(Float)
    rule_id: Mapped[str] = mapped_column(String(40))
    fault: Mapped[str] = mapped_column(String(20))
    phase: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    app_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    platform: Mapped[str | None] = mapped_column(String(32), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ChaosSettings(Base):
    """One row: whether callers may choose faults (X-Banksim-Fault) and who may. A table of
    its own so that `create_all` adds it to a database made by an older banksim."""

    __tablename__ = "chaos_settings"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    header_faults: Mapped[bool] = mapped_column(Boolean, default=False)
    allow: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"devices": [...], "users": [...]}
