"""What a reader must not miss about the timeline: steps that failed (the bank refused a
call, so the incident did not happen as the scenario says) and chaos rules that never
matched a request or never injected a fault (the incident may not have happened at all).

A failed step fails the run (the verdict, the exit code) unless the user allowed it
(`banksim incident --allow-failed-steps`, recorded as report.json's `allow_failed_steps`);
an idle rule is a warning only: a narrow rule in a short run may fairly miss.
"""
from .fmt import seconds


def failed_steps(report: dict) -> list[str]:
    """One line per failed call of a timeline step: `timeline[0] at 9 s: POST ...: why`."""
    lines = []
    for step in report.get("timeline_steps") or ():
        if step.get("outcome") != "failed":
            continue
        for call in step.get("calls") or ():
            if call.get("outcome") == "failed":
                lines.append(f"{step.get('step')} at {seconds(step.get('at_s'))}: "
                             f"{call.get('call')}: {call.get('note')}")
    return lines


def steps_reason(report: dict) -> str | None:
    """The verdict's words for the failed steps, None when every step did its work."""
    failed = [s["step"] for s in report.get("timeline_steps") or () if s.get("outcome") == "failed"]
    if not failed:
        return None
    plural = "s" * (len(failed) != 1)
    return f"{len(failed)} timeline step{plural} failed ({', '.join(failed)})"


def steps_fail_the_run(report: dict) -> bool:
    return steps_reason(report) is not None and not report.get("allow_failed_steps")


def idle_rules(report: dict) -> list[str]:
    """One line per chaos rule that matched no request, matched some and injected none, or
    was gone before its counters could be read (nothing says it did anything)."""
    lines = []
    for rule in report.get("chaos_rules") or ():
        matched, injected = rule.get("matched"), rule.get("injected")
        where = f"{rule.get('name')!r} ({rule.get('step') or 'added outside the timeline'})"
        if matched == 0:
            lines.append(f"chaos rule {where} matched no request: it injected nothing")
        elif matched and injected == 0:
            lines.append(f"chaos rule {where} matched {matched} requests but injected "
                         "no fault")
        elif matched is None:
            lines.append(f"chaos rule {where} was gone before its counters could be read "
                         "(its ttl_s ran out, or its preset was applied again): nothing "
                         "shows it injected anything")
    return lines


def print_warnings(report: dict, console) -> None:
    """The failed steps in red and the idle rules in yellow, right under the verdict."""
    from rich.markup import escape
    for line in failed_steps(report):
        console.print(f"[bold red]step failed:[/] {escape(line)}", highlight=False)
    for line in idle_rules(report):
        console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False)
