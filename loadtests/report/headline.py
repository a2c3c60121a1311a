"""The report's first sentence: which version the incident hurt, and what happened.

Everything comes from the report dict: the phases, `incident.release` (the version the
scenario's incident step published; without it, a version first seen in the incident phase),
the version rows (one first seen in the recovery phase is the hotfix),
`incident.bad_versions`, the detector's timings and which SLO fired, and when a halted
rollout stopped. Nothing here knows version numbers, so any scenario reads right.
"""
from .aggregate import affected_success
from .events import phase_start
from .fmt import percent, seconds


def headline(report: dict) -> str:
    """One sentence for the top of the page and the terminal."""
    phases = report.get("phases") or []
    incident = report.get("incident") or {}
    if phase_start(phases, "incident") is None:
        return _no_incident(report)
    bad = incident.get("bad_versions") or []
    if bad:
        clauses = [_hurt(report, version) for version in bad]
        clauses[-1] = " ".join(filter(None, (clauses[-1], _others(report, bad))))
    else:
        clauses = [_unhurt(report)]
    clauses.append(_timings(report))
    clauses.append(_halted(report))
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


def _hurt(report: dict, version: str) -> str:
    row = _versions(report).get(version, {})
    users, hurt = row.get("users", 0), row.get("users_affected", 0)
    share = f" ({100 * hurt / users:.0f} %)" if users else ""
    rate = affected_success(report.get("journeys") or []).get(version)
    return (f"{_shipped(report, version)}; {hurt} of its {users} users{share} saw failed "
            f"journeys; journey success on {version} fell to {percent(rate)}")


def _others(report: dict, bad: list[str]) -> str:
    """How the versions the incident did not hurt fared in the same phases."""
    rates = [rate for version, rate in affected_success(report.get("journeys") or []).items()
             if version not in bad]
    if not rates:
        return ""
    lowest = min(rates)
    return ("while the other versions stayed at 100 %" if lowest >= 1 else
            f"while the other versions stayed at or above {percent(lowest)}")


def _unhurt(report: dict) -> str:
    """No version fell below the SLO: say whether the incident's release was used at all."""
    incident = report.get("incident") or {}
    released = ([incident["release"]] if incident.get("release")
                else _first_in(report, "incident"))
    slo = percent(report.get("slo"))
    if not incident.get("release") and report.get("scenario_definition"):  # it published none
        return (f"the incident started at {seconds(phase_start(report['phases'], 'incident'))}; "
                f"no version fell below the SLO of {slo} of journeys succeeding")
    if not released or released[0] not in _versions(report):
        return (f"the incident started at {seconds(phase_start(report['phases'], 'incident'))} "
                "but no journey ran on a version released during it, so this run shows "
                "nothing of the incident (run longer, or with more users, for users to "
                "update to it)")
    rates = affected_success(report.get("journeys") or [])
    shipped = ", ".join(f"{_shipped(report, v)} (journey success {percent(rates.get(v))})"
                        for v in released)
    return f"{shipped}; no version fell below the SLO of {slo} of journeys succeeding"


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
    if incident.get("recovered_at_s") is None:
        back = "the error rate was not back under the SLO when the run ended"
        if fixes and shipped is not None and end:  # still name the fix, and how long it had
            back += f", {seconds(end - shipped)} after {hotfix} shipped"
    elif recover is None:
        back = f"the error rate was back under the SLO at {seconds(incident['recovered_at_s'])}"
    elif recover < 0:
        back = f"the error rate was back under the SLO {seconds(-recover)} before {hotfix} shipped"
    else:
        back = f"the error rate recovered {seconds(recover)} after {hotfix} shipped"
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
