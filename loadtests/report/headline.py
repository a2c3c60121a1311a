"""The report's first sentence: which version the incident hurt, and what happened.

Everything comes from the report dict: the phases, `incident.release` (the version the
scenario's incident step published; without it, a version first seen in the incident phase),
the version rows (one first seen in the recovery phase is the hotfix),
`incident.slo_checks` (each version against the success SLO and the latency SLO) and
`incident.bad_versions`, the detector's timings and which SLO fired, and when a halted
rollout stopped. Nothing here knows version numbers, so any scenario reads right.
"""
from .events import phase_start
from .fmt import milliseconds, percent, seconds
from .guardrails import fired_clauses, preflight_headline


def headline(report: dict) -> str:
    """One sentence for the top of the page and the terminal."""
    phases = report.get("phases") or []
    incident = report.get("incident") or {}
    if preflight_headline(report):
        return preflight_headline(report)
    if phase_start(phases, "incident") is None:
        return _sentence([_no_incident(report).rstrip("."), *fired_clauses(report)])
    bad = incident.get("bad_versions") or []
    if bad:
        clauses = [_hurt(report, version) for version in bad]
        clauses[-1] = " ".join(filter(None, (clauses[-1], _others(report, bad))))
    else:
        clauses = [_unhurt(report)]
    clauses.append(_timings(report))
    clauses.append(_halted(report))
    clauses.extend(fired_clauses(report))
    return _sentence(clauses)


def _halted(report: dict) -> str:
    incident = report.get("incident") or {}
    if incident.get("halted_at_s") is None:
        return ""
    return (f"the rollout of {incident.get('release')} was halted at "
            f"{seconds(incident['halted_at_s'])}, when the alert fired")


def _sentence(clauses: list[str]) -> str:
    text = "; ".join(c for c in clauses if c)
    return text[0].upper() + text[1:] + "."


def _versions(report: dict) -> dict[str, dict]:
    return {row["app_version"]: row for row in report.get("versions") or ()}


def _first_in(report: dict, phase: str) -> list[str]:
    """Versions whose first journey started in `phase` (the version rows are in PEP 440
    order, so this is too)."""
    return [v for v, row in _versions(report).items() if row.get("first_phase") == phase]


def _shipped(report: dict, version: str) -> str:
    """"4.2.0 shipped at 45 s", or "4.1.3 (in use from the start)"."""
    phases = report.get("phases") or []
    first_phase = _versions(report).get(version, {}).get("first_phase")
    if not phases or first_phase in (None, phases[0]["name"]):
        return f"{version} (in use from the start)"
    return f"{version} shipped at {seconds(phase_start(phases, first_phase))}"


def _checks(report: dict, objective: str) -> dict[str, dict]:
    """{app_version: its check} for one SLO (`success` or `latency`), from the incident block."""
    return {c["app_version"]: c for c in (report.get("incident") or {}).get("slo_checks") or ()
            if c["objective"] == objective}


def _hurt(report: dict, version: str) -> str:
    row = _versions(report).get(version, {})
    users, hurt = row.get("users", 0), row.get("users_affected", 0)
    share = f" ({100 * hurt / users:.0f} %)" if users else ""
    success, latency = (_checks(report, o).get(version, {}) for o in ("success", "latency"))
    slow = f"journeys slower than the latency SLO of {milliseconds(report.get('slo_p95_ms'))}"
    how = {(True, True): f"failed journeys or {slow}", (False, True): slow}.get(
        (bool(row.get("failed")), bool(row.get("slow"))), "failed journeys")
    what = [f"journey success on {version} fell to {percent(success.get('value'))}"
            if success.get("breached") else "",
            f"the p95 journey time on {version} rose to {milliseconds(latency.get('value'))}"
            if latency.get("breached") else ""]
    return (f"{_shipped(report, version)}; {hurt} of its {users} users{share} saw {how}; "
            + " and ".join(filter(None, what)))


def _others(report: dict, bad: list[str]) -> str:
    """How the versions the incident did not hurt fared in the same phases, on the SLOs
    the bad versions breached."""
    breached = {c["objective"] for c in (report.get("incident") or {}).get("slo_checks") or ()
                if c["breached"]}
    parts = []
    rates = [c["value"] for v, c in _checks(report, "success").items() if v not in bad]
    if rates and "success" in breached:
        lowest = min(rates)
        parts.append("stayed at 100 %" if lowest >= 1 else
                     f"stayed at or above {percent(lowest)}")
    p95s = [c["value"] for v, c in _checks(report, "latency").items() if v not in bad]
    if p95s and "latency" in breached:
        parts.append(f"kept their p95 at or under {milliseconds(max(p95s))}")
    return f"while the other versions {' and '.join(parts)}" if parts else ""


def _held(report: dict) -> str:
    """"no version fell below the SLO of 99 % of journeys succeeding" (or went over the
    latency SLO, when there is one)."""
    text = f"no version fell below the SLO of {percent(report.get('slo'))} of journeys succeeding"
    if report.get("slo_p95_ms") is not None:
        text += f" or went over the latency SLO of p95 {milliseconds(report['slo_p95_ms'])}"
    return text


def _unhurt(report: dict) -> str:
    """No version breached an SLO: say whether the incident's release was used at all."""
    incident = report.get("incident") or {}
    released = ([incident["release"]] if incident.get("release")
                else _first_in(report, "incident"))
    held = _held(report)
    if not incident.get("release") and report.get("scenario_definition"):  # it published none
        return (f"the incident started at {seconds(phase_start(report['phases'], 'incident'))}; "
                f"{held}")
    if not released or released[0] not in _versions(report):
        return (f"the incident started at {seconds(phase_start(report['phases'], 'incident'))} "
                "but no journey ran on a version released during it, so this run shows "
                "nothing of the incident (run longer, or with more users, for users to "
                "update to it)")
    rates, p95s = _checks(report, "success"), _checks(report, "latency")
    shipped = ", ".join(
        f"{_shipped(report, v)} (journey success {percent(rates.get(v, {}).get('value'))}"
        + (f", p95 {milliseconds(p95s[v]['value'])}" if v in p95s else "") + ")" for v in released)
    return f"{shipped}; {held}"


def _timings(report: dict) -> str:
    """When the alert fired, and when the error rate was back under the SLO."""
    incident = report.get("incident") or {}
    detect, recover = incident.get("time_to_detect_s"), incident.get("time_to_recover_s")
    which = "latency alert" if incident.get("detected_by") == "latency" else "alert"
    alert = ("the alert never fired" if detect is None else
             f"the {which} fired {seconds(detect)} after the incident started")
    fixes = " and ".join(_first_in(report, "recovery"))
    hotfix = f"the hotfix {fixes}" if fixes else "the hotfix"
    shipped, end = incident.get("hotfix_shipped_at_s"), report.get("duration_s")
    both = report.get("slo_p95_ms") is not None  # the alert watches latency too
    subject = "the error rate and latency" if both else "the error rate"
    rate, within = f"{subject} {'were' if both else 'was'}", "within the SLOs" if both else \
        "under the SLO"
    if incident.get("recovered_at_s") is None:
        back = f"{rate} not back {within} when the run ended"
        if fixes and shipped is not None and end:  # still name the fix, and how long it had
            back += f", {seconds(end - shipped)} after {hotfix} shipped"
    elif recover is None:
        back = f"{rate} back {within} at {seconds(incident['recovered_at_s'])}"
    elif recover < 0:
        back = f"{rate} back {within} {seconds(-recover)} before {hotfix} shipped"
    else:
        back = f"{subject} recovered {seconds(recover)} after {hotfix} shipped"
    if detect is None and incident.get("recovered_at_s") is None:
        return alert
    return f"{alert} and {back}"


def _no_incident(report: dict) -> str:
    versions = report.get("versions") or []
    journeys = sum(row["journeys"] for row in versions)
    failed = sum(row["failed"] for row in versions)
    if not journeys:
        return "No journeys ran in this run."
    rate = percent((journeys - failed) / journeys)
    return (f"No incident in this run (phases: {', '.join(p['name'] for p in report['phases'])}); "
            f"{rate} of {journeys:,} journeys succeeded on {len(versions)} app version(s).")
