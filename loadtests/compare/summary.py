"""The comparison in a terminal (and the formatting compare.html shares): one row per
variant with each metric as mean [min-max], then the verdict per varied key."""
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from loadtests.compare.metrics import METRICS, UNMEASURED, runs_for

LABELS = {"success_rate": "success", "bad_version_success_rate": "bad version success",
          "bad_version_users": "users on bad version",
          "users_affected": "users affected", "users_affected_pct": "users affected %",
          "time_to_detect_s": "time to detect (s)", "time_to_recover_s": "time to recover (s)",
          "requests_per_journey": "requests / journey", "retries_per_journey": "retries / journey",
          "p95_ms": "p95 (ms)", "server_requests_per_s": "server req/s",
          "server_error_rate": "server error rate", "goodput_per_s": "goodput (journeys/s)",
          "dropped": "dropped arrivals", "wasted_requests": "wasted requests",
          "metastable_s": "metastable (s)"}
PERCENT = {"success_rate", "bad_version_success_rate", "server_error_rate"}


def params_text(params: dict) -> str:
    return ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}"
                     for k, v in params.items())


def cell(metric: str, spread: dict | None, runs: int | None = None) -> str:
    """"97.1 % [95.0-99.2] n=3", "12 n=1, never fired in 1 of 2", "never fired in 2 of 2",
    or "–" when nothing was measured: every figure says how many runs it stands on."""
    missing = (runs or 0) - (spread["n"] if spread else 0)
    outcome = f"{UNMEASURED.get(metric, 'not measured')} in {missing} of {runs}"
    if spread is None:
        return outcome if missing > 0 and metric in UNMEASURED else "–"
    if metric in PERCENT:
        text = [f"{100 * spread[k]:.1f}" for k in ("mean", "min", "max")]
        unit = " %"
    else:
        text = [f"{spread[k]:.3g}" for k in ("mean", "min", "max")]
        unit = ""
    figure = text[0] + unit if spread["min"] == spread["max"] else \
        f"{text[0]}{unit} [{text[1]}-{text[2]}]"
    return f"{figure} n={spread.get('n', 1)}" + (f", {outcome}" if missing > 0 else "")


def single_run_note(document: dict) -> str | None:
    if document.get("repeat", 1) > 1:
        return None
    return ("one run per variant: no spread was measured, so a difference may be chance; "
            "use --repeat 3 or more before trusting a winner")


def print_whole(console: Console, table: Table) -> None:
    """At a terminal, to its width; into a file or a pipe, the table at its natural width
    (a column per variant: squeezed into 80 columns every figure would wrap)."""
    if console.is_terminal:
        console.print(table)
        return
    width = console.measure(table, options=console.options.update_width(10_000)).maximum
    Console(file=console.file, width=max(width, console.width), no_color=console.no_color,
            soft_wrap=True).print(table)


def print_comparison(document: dict, console: Console | None = None) -> None:
    console = console or Console()
    variants = document["variants"]
    table = Table(title=f"banksim compare · {document['scenario']} · seed {document['seed']} "
                        f"· {document['repeat']} run(s) per variant (mean \\[min-max] n=runs that "
                        f"measured it)")
    table.add_column("metric")
    for i, variant in enumerate(variants):
        table.add_column(f"v{i + 1}: {escape(params_text(variant['params']))}", justify="right")
    for metric in METRICS:
        table.add_row(LABELS[metric], *(cell(metric, v["metrics"][metric], runs_for(v, metric))
                                        for v in variants))
    table.add_row("integrity", *("[green]ok[/]" if v["integrity_ok"] else "[bold red]FAILED[/]"
                                 for v in variants))
    print_whole(console, table)
    for key, lines in (document.get("verdicts") or {}).items():
        console.print(f"[bold]{escape(key)}[/]:")
        for line in lines or ["nothing to compare yet"]:
            console.print(f"  {escape(line)}", highlight=False)
    note = single_run_note(document)
    if note:
        console.print(f"[yellow]{note}[/]")
