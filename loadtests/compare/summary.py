"""The comparison in a terminal (and the formatting compare.html shares): one row per
variant with each metric as mean [min-max], then the verdict per varied key."""
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from loadtests.compare.metrics import METRICS

LABELS = {"success_rate": "success", "bad_version_success_rate": "bad version success",
          "bad_version_users": "users on bad version",
          "users_affected": "users affected", "users_affected_pct": "users affected %",
          "time_to_detect_s": "time to detect (s)", "time_to_recover_s": "time to recover (s)",
          "requests_per_journey": "requests / journey", "retries_per_journey": "retries / journey",
          "p95_ms": "p95 (ms)", "server_requests_per_s": "server req/s",
          "server_error_rate": "server error rate"}
PERCENT = {"success_rate", "bad_version_success_rate", "server_error_rate"}


def params_text(params: dict) -> str:
    return ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}"
                     for k, v in params.items())


def cell(metric: str, spread: dict | None) -> str:
    """"97.1 % [95.0-99.2]", "12 [10-14]", or "–" when no run measured it."""
    if spread is None:
        return "–"
    if metric in PERCENT:
        text = [f"{100 * spread[k]:.1f}" for k in ("mean", "min", "max")]
        unit = " %"
    else:
        text = [f"{spread[k]:.3g}" for k in ("mean", "min", "max")]
        unit = ""
    return text[0] + unit if spread["min"] == spread["max"] else \
        f"{text[0]}{unit} [{text[1]}-{text[2]}]"


def single_run_note(document: dict) -> str | None:
    if document.get("repeat", 1) > 1:
        return None
    return ("one run per variant: no spread was measured, so a difference may be chance; "
            "use --repeat 3 or more before trusting a winner")


def print_comparison(document: dict, console: Console | None = None) -> None:
    console = console or Console()
    variants = document["variants"]
    table = Table(title=f"banksim compare · {document['scenario']} · seed {document['seed']} "
                        f"· {document['repeat']} run(s) per variant (mean \\[min-max])")
    table.add_column("metric")
    for i, variant in enumerate(variants):
        table.add_column(f"v{i + 1}: {escape(params_text(variant['params']))}", justify="right")
    for metric in METRICS:
        table.add_row(LABELS[metric], *(cell(metric, v["metrics"][metric]) for v in variants))
    table.add_row("integrity", *("[green]ok[/]" if v["integrity_ok"] else "[bold red]FAILED[/]"
                                 for v in variants))
    console.print(table)
    for key, lines in (document.get("verdicts") or {}).items():
        console.print(f"[bold]{escape(key)}[/]:")
        for line in lines or ["nothing to compare yet"]:
            console.print(f"  {escape(line)}", highlight=False)
    note = single_run_note(document)
    if note:
        console.print(f"[yellow]{note}[/]")
