"""banksim's built-in incident scenarios: one YAML file each (docs/scenarios.md).

Pure data, shipped inside the installed package; `loadtests.scenario` reads and
validates them. `BUILTIN_DIR` is where the files are, wherever banksim is installed.
"""
from pathlib import Path

BUILTIN_DIR = Path(__file__).resolve().parent


def builtin_files() -> dict[str, Path]:
    """{name: path} of every built-in scenario, by file name."""
    return {path.stem: path for path in sorted(BUILTIN_DIR.glob("*.yaml"))}
