"""What `banksim compare` will run: the variants (the cartesian product of every --vary),
each run's seed, and where each run's report goes. Pure: nothing starts here.

A usage error (an unknown key, a value out of range, a key varied twice) raises
`ValueError` naming the key, before any run starts.
"""
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loadtests.phone.retry import POLICIES as BUILTIN_POLICIES
from loadtests.run.incident import IncidentSettings
from loadtests.scenario.schema import parse_think

POLICIES = tuple(BUILTIN_POLICIES)
MODELS = ("closed", "open")
BOOLEANS = {"true": True, "false": False}


def _policy(text: str) -> str:
    if text not in POLICIES:
        raise ValueError(f"one of {', '.join(POLICIES)}")
    return text


def _model(text: str) -> str:
    if text not in MODELS:
        raise ValueError(f"one of {', '.join(MODELS)}")
    return text


def _boolean(text: str) -> bool:
    if text.lower() not in BOOLEANS:
        raise ValueError("true or false")
    return BOOLEANS[text.lower()]


def _number(low: float, high: float, kind: Callable = float, low_open: bool = False):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"a{'n integer' if kind is int else ' number'}") from None
        if not (low < value if low_open else low <= value) or value > high:
            raise ValueError(f"between {low:g} and {high:g}")
        return value
    return parse


def _think(text: str) -> str:
    low, high = parse_think(text)
    return f"{low:g}-{high:g}"


# key -> parser of one value (raises ValueError saying what a value must be)
KEYS: dict[str, Callable[[str], object]] = {
    "client_policy": _policy,
    "client": _policy,
    "halt_on_alert": _boolean,
    "adoption": _number(0, 1),
    "users": _number(1, 2000, int),
    "think": _think,
    "rollout": _number(0, 100, low_open=True),
    "load_model": _model,
    "rate": _number(0, 1000, low_open=True),
}
# how a key reaches IncidentSettings
SETTING = {"client_policy": "client_policy", "client": "client_policy",
           "load_model": "load_model", "rate": "rate", "halt_on_alert": "halt_on_alert",
           "adoption": "adoption", "users": "users", "think": "think_s", "rollout": "rollout"}


def parse_vary(text: str) -> tuple[str, list]:
    """`KEY=V1,V2[,...]` -> (key, [values]); ValueError says what is wrong."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or key not in KEYS:
        raise ValueError(f"{text!r}: use KEY=V1,V2 with KEY one of {', '.join(KEYS)}")
    parsed = []
    for raw in (v.strip() for v in values.split(",")):
        try:
            parsed.append(KEYS[key](raw))
        except ValueError as exc:
            raise ValueError(f"{key}={raw!r}: {key} must be {exc}") from None
    if len(set(map(str, parsed))) != len(parsed):
        raise ValueError(f"{key}: a value is given twice")
    return key, parsed


def parse_varies(texts: list[str]) -> dict[str, list]:
    """Every --vary, in the order given; a key may be varied once."""
    if not texts:
        raise ValueError("give at least one --vary KEY=V1,V2")
    varies = {}
    for text in texts:
        key, values = parse_vary(text)
        if key in varies:
            raise ValueError(f"{key} is varied twice; give all its values in one --vary")
        varies[key] = values
    if {"client", "client_policy"} <= set(varies):
        raise ValueError("client_policy is a synonym of client; vary one of them")
    return varies


def variants(varies: dict[str, list]) -> list[dict]:
    """The cartesian product, the first --vary changing slowest: [{key: value, ...}]."""
    keys = list(varies)
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(varies[k] for k in keys))]


def seeds(seed: int, repeat: int) -> list[int]:
    """Run j of every variant uses seed S + j - 1, so variants meet the same users."""
    return [seed + j for j in range(repeat)]


def slug(index: int, params: dict) -> str:
    """A variant's directory: `v1-client_policy-none` (safe on every file system)."""
    text = "_".join(f"{k}-{_text(v)}" for k, v in params.items())
    return f"v{index + 1}-" + re.sub(r"[^A-Za-z0-9._-]", "_", text)


def _text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else f"{value:g}" \
        if isinstance(value, float) else str(value)


@dataclass
class Run:
    """One run of the comparison: its variant, seed and report directory (relative)."""

    variant: int
    params: dict
    seed: int
    path: str


@dataclass
class Plan:
    """The whole comparison; `base` holds the command line's IncidentSettings values that
    every run shares (scenario, users, duration_s, ...)."""

    scenario: str
    seed: int
    repeat: int
    out: Path
    varies: dict[str, list]
    base: dict = field(default_factory=dict)

    def variants(self) -> list[dict]:
        return variants(self.varies)

    def runs(self) -> list[Run]:
        return [Run(i, params, seed, f"{slug(i, params)}/seed-{seed}")
                for i, params in enumerate(self.variants())
                for seed in seeds(self.seed, self.repeat)]

    def settings(self, run: Run) -> IncidentSettings:
        """The run's IncidentSettings: the shared values, then the variant's."""
        values = {**self.base, "scenario": self.scenario, "seed": run.seed,
                  "out_dir": self.out / run.path}
        for key, value in run.params.items():
            values[SETTING[key]] = parse_think(value) if key == "think" else value
        return IncidentSettings(**values)
