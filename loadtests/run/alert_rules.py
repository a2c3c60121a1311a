"""The alert rules a run with `--prometheus` loads: checked by promtool, sped up on request.

Everything here happens before the run starts anything, so a missing binary or a rules
file promtool rejects refuses the run (`RunRefused`, exit 2) with nothing written.

Speeding rules up (`--alert-speedup N`): a replay lasts minutes, while burn-rate alerts
look at hours. `speed_up` divides every duration in the rules by N: range windows and
subquery steps (`[1h]`, `[30m:1m]`), `offset`s, `for:`, `keep_firing_for:` and a group's
`interval:`, so with N = 60 an hour's window is a minute and `for: 15m` is 15 s. Ranges
never drop below MIN_RANGE_S (four scrapes: `rate()` needs two samples), and durations
in label values, annotations or string literals are left alone. Rule and recording names
are kept (`...:rate1h` still names what is now a minute's window).
"""
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from loadtests.run.database_guard import RunRefused

SHIPPED = Path(__file__).resolve().parent.parent.parent / "deploy" / "alerts.yml"
PACKAGE = ("`prometheus` and `promtool` are not on PATH: install Debian's prometheus "
           "package (sudo apt-get install prometheus), or run without --prometheus")
MIN_RANGE_S = 4.0  # four scrapes at one a second
UNITS = {"y": 365 * 86400.0, "w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0,
         "s": 1.0, "ms": 0.001}
DURATION = r"(?:\d+(?:ms|[ywdhms]))+"
_PART = re.compile(r"(\d+)(ms|[ywdhms])")
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_RANGE = re.compile(rf"\[\s*({DURATION})\s*(?::\s*({DURATION})?\s*)?\]")
_OFFSET = re.compile(rf"\b(offset\s+-?)({DURATION})\b")


@dataclass
class AlertRules:
    """The rule files a run loads (as given), the copies Prometheus reads (sped up, once
    written into the run's Prometheus directory) and the alerting rules' names."""
    files: list[Path]
    speedup: float = 1.0
    alert_names: tuple[str, ...] = ()

    def describe(self) -> str:
        names = ", ".join(str(f) for f in self.files)
        return names + (f", {self.speedup:g}x faster" if self.speedup != 1 else "")


def binaries() -> tuple[str, str]:
    """The paths of `prometheus` and `promtool`; RunRefused naming the package if absent."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        raise RunRefused(PACKAGE)
    return prometheus, promtool


def check(promtool: str, path: Path, what: str) -> None:
    """`promtool check rules path`; RunRefused with promtool's own words when it rejects it."""
    try:
        result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                                encoding="utf-8", errors="replace", timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunRefused(f"{what}: promtool could not check it ({exc})") from None
    if result.returncode != 0:
        said = (result.stderr.strip() or result.stdout.strip())[-3000:]
        raise RunRefused(f"{what}: promtool rejects it:\n{said}")


def prepare(files: list[Path] | None, speedup: float = 1.0) -> AlertRules:
    """The rules a run loads (the shipped ones when `files` is empty), each checked by
    promtool as given; RunRefused when one is missing or rejected, or the binaries are."""
    _, promtool = binaries()
    paths = [Path(f) for f in files] if files else [SHIPPED]
    names: list[str] = []
    for path in paths:
        what = f"--alert-rules {path}" if files else f"the shipped rules {path}"
        if not path.is_file():
            raise RunRefused(f"{what}: no such file" + ("" if files else (
                " (they come with a checkout of banksim, not with an installed package): "
                "give --alert-rules FILE")))
        check(promtool, path, what)
        try:
            names += [rule["alert"] for group in _groups(path)
                      for rule in group.get("rules") or () if "alert" in rule]
        except (ValueError, yaml.YAMLError, TypeError, AttributeError) as exc:
            raise RunRefused(f"{what}: promtool accepts it, but it cannot be read as "
                             f"YAML here ({exc})") from None
    return AlertRules(paths, speedup, tuple(dict.fromkeys(names)))


def write_for_run(rules: AlertRules, directory: Path) -> list[Path]:
    """The rule files Prometheus loads, copied into `directory` (sped up when asked) and
    checked by promtool again; RunRefused when a sped-up copy is rejected."""
    _, promtool = binaries()
    copies = []
    for number, path in enumerate(rules.files):
        copy = directory / f"rules-{number}-{path.name}"
        if rules.speedup == 1:
            shutil.copyfile(path, copy)
        else:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            copy.write_text(yaml.safe_dump(speed_up(document, rules.speedup), sort_keys=False),
                            encoding="utf-8")
            check(promtool, copy, f"--alert-rules {path} sped up {rules.speedup:g}x")
        copies.append(copy)
    return copies


def speed_up(document: dict, factor: float) -> dict:
    """A rules document with every duration divided by `factor` (see the module docstring)."""
    for group in document.get("groups") or ():
        if "interval" in group:
            group["interval"] = _format(max(_seconds(group["interval"]) / factor, 1.0))
        for rule in group.get("rules") or ():
            rule["expr"] = speed_up_expression(str(rule["expr"]), factor)
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    rule[key] = _format(_seconds(rule[key]) / factor)
    return document


def speed_up_expression(expr: str, factor: float) -> str:
    """`expr` with its ranges, subquery steps and offsets divided by `factor`; text inside
    string literals (label matchers) is left as it is."""
    pieces, last = [], 0
    for literal in _STRING.finditer(expr):
        pieces += [_rewrite(expr[last:literal.start()], factor), literal.group()]
        last = literal.end()
    return "".join(pieces + [_rewrite(expr[last:], factor)])


def _rewrite(code: str, factor: float) -> str:
    def window(match):
        steps = match.group(0).count(":")
        scaled = _format(max(_seconds(match[1]) / factor, MIN_RANGE_S))
        if not steps:
            return f"[{scaled}]"
        step = match[2] and _format(max(_seconds(match[2]) / factor, 1.0))
        return f"[{scaled}:{step or ''}]"

    code = _RANGE.sub(window, code)
    return _OFFSET.sub(lambda m: m[1] + _format(_seconds(m[2]) / factor), code)


def _seconds(duration) -> float:
    text = str(duration).strip()
    if not re.fullmatch(DURATION, text):
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return sum(int(n) * UNITS[unit] for n, unit in _PART.findall(text))


def _format(seconds: float) -> str:
    """A duration Prometheus reads: whole milliseconds, in seconds when it is whole."""
    ms = max(int(round(seconds * 1000)), 0)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def _groups(path: Path) -> list[dict]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [g for g in document.get("groups") or () if isinstance(g, dict)]
