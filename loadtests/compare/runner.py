"""`banksim compare`: the same scenario under several choices, one run after another.

Every run is an ordinary `banksim incident` run (`run_incident`) in its own report
directory; the runs never overlap (one machine: two at once would measure each other).
compare.json is rewritten after every run, so a comparison stopped half way still holds
what it measured; compare.html is drawn at the end (also after a stop).
"""
import json
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from loadtests.run.children import Interrupted, StopSignals
from loadtests.compare.metrics import compare_document, summarise_variant
from loadtests.compare.plan import Plan, Run
from loadtests.run.incident import run_incident
from loadtests.report.summary import print_rule

SETUP_S = 30  # a first guess at seeding, starting the bank and writing the report


def run_comparison(plan: Plan, console: Console | None = None) -> int:
    """Run every variant `plan.repeat` times; 0 when every run's integrity held and every
    threshold passed, 1 otherwise, 128 + N when signal N stopped it."""
    console = console or Console()
    runs, codes = plan.runs(), {}
    plan.out.mkdir(parents=True, exist_ok=True)
    duration_s = plan.settings(runs[0]).scenario_of().duration_s
    columns = (TextColumn("[bold]comparison[/]"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}"))
    signals = StopSignals()
    try:
        with signals, Progress(*columns, console=console) as progress:
            task = progress.add_task("runs", total=len(runs), status="")
            started = time.monotonic()
            try:
                for n, run in enumerate(runs):
                    progress.update(task, status=_status(plan, run, n, len(runs), started,
                                                         duration_s))
                    codes[run.path] = _one_run(plan, run, n, len(runs), console)
                    write_json(plan, runs, codes)
                    progress.advance(task)
                    if codes[run.path] >= 128:
                        raise Interrupted(codes[run.path] - 128)
            finally:  # the bar's last frame stays on screen (and in a log): no time left
                progress.update(task, status=f"{_done(codes)} of {len(runs)} runs done")
    except Interrupted as exc:
        left = [run.path for run in runs if run.path not in codes]
        stopped = [path for path, code in codes.items() if code >= 128]
        cut = (f"; {', '.join(stopped)} stopped partway (its partial report counts as no "
               f"report)" if stopped else "")
        console.print(f"[bold red]comparison stopped by {exc}[/] after {_done(codes)} of "
                      f"{len(runs)} runs{cut}; not run: {', '.join(left) or 'none'}. "
                      f"What was measured is in {(plan.out / 'compare.json').resolve()}",
                      highlight=False)
        write_outputs(plan, runs, codes, console)
        return 128 + exc.signum
    write_outputs(plan, runs, codes, console)
    return 0 if codes and all(code == 0 for code in codes.values()) else 1


def _done(codes: dict) -> int:
    """Runs that ran to their end (a signal's 128 + N is a run stopped partway)."""
    return sum(code < 128 for code in codes.values())


def _status(plan: Plan, run: Run, n: int, total: int, started: float,
            duration_s: float) -> str:
    """"variant 2 of 3 (client_policy=naive), run 1 of 2, about 6 min left"."""
    per_run = (time.monotonic() - started) / n if n else duration_s + SETUP_S
    left_s = per_run * (total - n)
    params = ", ".join(f"{k}={v}" for k, v in run.params.items())
    return (f"variant {run.variant + 1} of {len(plan.variants())} ({params}), "
            f"run {run.seed - plan.seed + 1} of {plan.repeat}, about "
            f"{max(1, round(left_s / 60))} min left")


def _one_run(plan: Plan, run: Run, n: int, total: int, console: Console) -> int:
    settings = plan.settings(run)
    params = ", ".join(f"{k}={v}" for k, v in run.params.items())
    settings.label = f"run {n + 1} of {total}: {params}, seed {run.seed}"
    print_rule(console)  # the label below, not in the rule: a rule's title is cut to the width
    console.print(f"[bold]{settings.label}[/]; report directory: {settings.out_dir}",
                  soft_wrap=True, highlight=False)
    try:
        return run_incident(settings, console=console)
    except RuntimeError as exc:  # a run that could not start or finish; the others go on
        console.print(f"[bold red]run failed[/]: {exc}", highlight=False)
        return 1


def _variants(plan: Plan, runs: list[Run], codes: dict) -> list[dict]:
    """compare.json's variants, from the runs done so far (in plan order)."""
    done = {}
    for run in runs:
        if run.path in codes:
            done.setdefault(run.variant, (run.params, []))[1].append(run.path)
    return [summarise_variant(plan.out, params, paths) for params, paths in done.values()]


def write_json(plan: Plan, runs: list[Run], codes: dict) -> dict:
    document = compare_document(plan.scenario, plan.seed, plan.repeat,
                                _variants(plan, runs, codes))
    document["runs_planned"] = len(runs)
    document["runs_done"] = _done(codes)
    path = plan.out / "compare.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return document


def write_outputs(plan: Plan, runs: list[Run], codes: dict, console: Console) -> None:
    from loadtests.compare.html import write_compare_html
    from loadtests.compare.summary import print_comparison
    document = write_json(plan, runs, codes)
    html = write_compare_html(document, plan.out / "compare.html")
    print_comparison(document, console)
    console.print(f"comparison: {(plan.out / 'compare.json').resolve()}, {Path(html).resolve()}")
