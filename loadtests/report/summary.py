"""The end-of-run summary in the terminal: first the headline and the verdict, then the
phases, success per version and phase, the incident's timings, integrity, thresholds, and
the verdict again as the last line (the one a CI log shows)."""
from rich.console import Console
from rich.markup import escape
from rich.rule import Rule
from rich.table import Table

from .aggregate import success_by_version_and_phase
from .alerts import alert_lines
from .events import phase_key, sorted_versions
from .failures import failure_line
from .fmt import percent, seconds, secs, span
from .dynamics import dynamics_lines
from .guardrails import reasons as stop_reasons, summary_lines
from .headline import headline
from .steps import print_warnings, steps_reason


def verdict(report: dict) -> tuple[bool, list[str]]:
    """Whether the run passes (ledger integrity ok and every threshold met), and why not."""
    reasons = []
    if report.get("partial"):
        stopped, measured = report.get("stopped_by"), seconds(report.get("duration_s"))
        reasons.append(f"partial run (stopped by {stopped} after {measured})" if stopped
                       else f"partial run (never finished; {measured} measured)")
    integrity = report.get("integrity") or {}
    if integrity.get("checked") is False:
        reasons.append(f"integrity not checked: {integrity.get('reason')}")
    elif integrity.get("ok") is False:
        broken = [k for k in ("ledger_balanced",) if integrity.get(k) is False]
        broken += [k for k in ("negative_balances", "duplicate_transfers",
                               "lost_acknowledged_transfers",
                               "mismatched_acknowledged_transfers") if integrity.get(k)]
        reasons.append("integrity check failed" + (f" ({', '.join(broken)})" if broken else ""))
    webhooks = (report.get("webhooks") or {}).get("integrity") or {}
    if webhooks.get("ok") is False:
        reasons.append(f"webhooks integrity failed ({webhooks.get('missing_events')} missing, "
                       f"{webhooks.get('unknown_events')} unknown events at the receiver)")
    load = report.get("load") or {}
    if load.get("model") == "open" and load.get("offered"):
        share = (load.get("dropped") or 0) / load["offered"]
        if share > 1 - (report.get("slo") or 0):  # more than the SLO lets fail
            reasons.append(f"{share:.1%} of the arrivals found no free phone (dropped)")
    if report.get("alerts_error"):
        reasons.append(f"alerts not graded: {report['alerts_error']}")
    failed = [t["name"] for t in report.get("thresholds") or () if not t["passed"]]
    if failed:
        plural = "s" * (len(failed) != 1)
        reasons.append(f"{len(failed)} threshold{plural} failed: {', '.join(failed)}")
    reasons.extend(stop_reasons(report))  # a guardrail aborted it, or the preflight failed
    steps = steps_reason(report)  # the incident did not run as written
    if steps and not report.get("allow_failed_steps"):
        reasons.append(steps)
    if not reasons:
        count = len(report.get("thresholds") or ())
        met = f"{count} threshold{'s' * (count != 1)} met" if count else "no thresholds set"
        reasons.append(f"ledger intact, {met}" if integrity else f"{met} (no integrity check)")
        if steps:
            reasons.append(f"{steps}, allowed by --allow-failed-steps")
        return True, reasons
    return False, reasons


def partial_note(report: dict) -> str:
    """What a partial report is missing, for the banner of the page and the terminal."""
    stopped, measured = report.get("stopped_by"), secs(report.get("duration_s"))
    how = (f"was stopped by {stopped} after {measured} s, before its end" if stopped else
           f"never finished (it wrote no report; {measured} s were measured)")
    return (f"This run {how}: the figures cover only what was measured until then, the "
            "ledger was not audited, and the verdict is FAIL whatever the figures say.")


def verdict_line(report: dict) -> str:
    """"PASS: ledger intact, no thresholds set", as rich markup."""
    passed, reasons = verdict(report)
    label = "[bold green]PASS[/]" if passed else "[bold red]FAIL[/]"
    return f"{label}: " + escape("; ".join(reasons))


RULE_WIDTH = 80  # a rule's width in a file, where tables may be far wider


def print_rule(console: Console, title: str = "") -> None:
    """A rule across the terminal; in a file (no width to fill) 80 columns or the title's."""
    width = None if console.is_terminal else min(console.width, max(RULE_WIDTH, len(title) + 8))
    console.print(Rule(title), width=width)


def print_summary(report: dict, console: Console | None = None) -> None:
    console = console or Console()
    scenario = escape(str(report.get("scenario")))
    print_rule(console, f"[bold]banksim {scenario}[/] · seed {report.get('seed')} · "
                        f"{report.get('users')} users · {seconds(report.get('duration_s'))} · "
                        f"client policy {report.get('client_policy')}")
    if report.get("partial"):
        console.print("[bold white on red] PARTIAL RUN [/] " + escape(partial_note(report)),
                      highlight=False)
    console.print("[bold]" + escape(headline(report)) + "[/]", highlight=False)
    console.print(verdict_line(report), highlight=False)
    print_warnings(report, console)
    console.print()
    phases = [p["name"] for p in report["phases"]]
    console.print(f"SLO: {_slos(report)}", highlight=False)
    console.print("phases: " + ", ".join(f"{p['name']} {span(p['start_s'], p['end_s'])}"
                                         for p in report["phases"]), highlight=False)

    rates = success_by_version_and_phase(report["journeys"])
    slo = report.get("slo") or 0
    columns = phases or sorted({p for v in rates.values() for p in v}, key=phase_key)
    table = Table(title="journey success rate by app version and phase")
    table.add_column("app version")
    for phase in columns:
        table.add_column(phase, justify="right")
    for version in sorted_versions(rates):
        cells = []
        for phase in columns:
            rate = rates[version].get(phase)
            style = "" if rate is None else ("green" if rate >= slo else "red")
            cells.append("–" if rate is None else f"[{style}]{rate:.1%}[/]")
        table.add_row(escape(version), *cells)
    console.print(table)

    incident = report["incident"]
    console.print(
        f"incident: alert fired at {seconds(incident['detected_at_s'])} "
        f"(time to detect {seconds(incident['time_to_detect_s'])}); error rate back under "
        f"the SLO at {seconds(incident['recovered_at_s'])} (time to recover after the hotfix "
        f"{seconds(incident['time_to_recover_s'])}); users affected "
        f"{incident['users_affected']} ({incident['users_affected_pct'] or 0:g}%)"
        + (f", {incident['users_slowed']} with journeys over the latency SLO"
           if incident.get("users_slowed") is not None else ""),
        highlight=False)

    for line in dynamics_lines(report):
        console.print(escape(line), highlight=False)
    failures = failure_line(report)
    if failures:
        console.print(failures, highlight=False, markup=False)

    for line in summary_lines(report):
        console.print(escape(line), highlight=False)
    alerts = alert_lines(report.get("alerts") or [])
    if alerts:
        console.print("prometheus alerts:\n" + "\n".join(f"  {escape(line)}" for line in alerts),
                      highlight=False)

    integrity = report.get("integrity") or {}
    if integrity:
        console.print("integrity: " + ", ".join(
            f"{key} [{'green' if _good(key, value) else 'red'}]{escape(str(value))}[/]"
            for key, value in integrity.items() if not isinstance(value, dict | list)))

    webhooks = report.get("webhooks")
    if webhooks:
        check = webhooks["integrity"]
        console.print(
            f"webhooks: {webhooks['emitted']} emitted, {webhooks['delivered']} delivered, "
            f"{webhooks['duplicates_received']} duplicates and {webhooks['out_of_order']} out "
            f"of order at the receiver, delay p95 {webhooks['delay_ms']['p95']} ms; receiver "
            f"matches the ledger [{'green' if check['ok'] else 'red'}]{check['ok']}[/]",
            highlight=False)

    if report.get("thresholds"):
        checks = Table(title="thresholds")
        for name in ("threshold", "limit", "value", "result"):
            checks.add_column(name, justify="left" if name == "threshold" else "right")
        for t in report["thresholds"]:
            value = "–" if t["value"] is None else f"{t['value']:g}"
            checks.add_row(escape(t["name"]), t["limit"], value,
                           "[green]PASS[/]" if t["passed"] else "[bold red]FAIL[/]")
        console.print(checks)

    console.print(verdict_line(report), highlight=False)


def _slos(report: dict) -> str:
    """"99.0 % of journeys succeed" (", p95 within 2000 ms"): what the run was judged by."""
    latency = report.get("slo_p95_ms")
    return (f"{percent(report.get('slo'))} of journeys succeed"
            + (f", p95 within {latency:g} ms" if latency is not None else ""))


def _good(key: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if key in ("negative_balances", "duplicate_transfers", "lost_acknowledged_transfers",
               "mismatched_acknowledged_transfers"):
        return not value
    return True
