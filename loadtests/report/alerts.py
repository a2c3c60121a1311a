"""The report's `alerts` block: what a real Prometheus's alert rules did during the run.

`banksim incident --prometheus` writes alerts.json into the run directory: every alerting
rule Prometheus loaded (`rules`: name and static labels) and, per alert label set that
fired, the intervals it was firing (`firing`: `[[start_s, end_s], ...]` in seconds since
the run started, `end_s` None while still firing at the end). This module turns that into
one entry per label set that fired and one per rule that never did:

    {name, labels, fired, first_fired_at_s, since_incident_s, since_detector_s,
     resolved_at_s, firing_s}

`since_incident_s`: seconds from the incident's start to the first moment the alert was
firing at or after it (0 when it was already firing then; None when it never fired from
then on); `since_detector_s`: first_fired_at_s minus banksim's own detector's
detected_at_s (negative: Prometheus was faster). The threshold `alert[NAME]<=60s` reads
the smallest `since_incident_s` of NAME's entries (`alert_values`).
"""


def alert_entries(raw: dict | None, incident: dict) -> list[dict]:
    """The `alerts` block from alerts.json's content (`raw`; None: no Prometheus ran)."""
    if not raw:
        return []
    started, detected = incident.get("incident_started_at_s"), incident.get("detected_at_s")
    entries, fired_names = [], set()
    for series in raw.get("firing") or ():
        intervals = [(float(a), None if b is None else float(b))
                     for a, b in series.get("intervals") or ()]
        if not intervals:
            continue
        fired_names.add(series["name"])
        first, last_end = intervals[0][0], intervals[-1][1]
        end = float(raw.get("ended_at_s") or max(b or a for a, b in intervals))
        entries.append({
            "name": series["name"], "labels": dict(series.get("labels") or {}),
            "fired": True, "first_fired_at_s": round(first, 1),
            "since_incident_s": _since(intervals, started),
            "since_detector_s": None if detected is None else round(first - detected, 1),
            "resolved_at_s": None if last_end is None else round(last_end, 1),
            "firing_s": round(sum((end if b is None else b) - a for a, b in intervals), 1)})
    for rule in raw.get("rules") or ():
        if rule["name"] not in fired_names:
            fired_names.add(rule["name"])  # a rule in two files or groups: listed once
            entries.append({"name": rule["name"], "labels": dict(rule.get("labels") or {}),
                            "fired": False, "first_fired_at_s": None,
                            "since_incident_s": None, "since_detector_s": None,
                            "resolved_at_s": None, "firing_s": 0.0})
    return sorted(entries, key=lambda e: (not e["fired"], e["first_fired_at_s"] or 0,
                                          e["name"]))


def _since(intervals: list[tuple], started: float | None) -> float | None:
    """Seconds from `started` to the first moment firing at or after it."""
    if started is None:
        return None
    moments = [max(a, started) for a, b in intervals if b is None or b > started]
    return round(min(moments) - started, 1) if moments else None


def alert_values(entries: list[dict]) -> dict[str, float]:
    """{"alert[NAME]": seconds from the incident's start to NAME firing}, for thresholds."""
    values: dict[str, float] = {}
    for entry in entries:
        since = entry["since_incident_s"]
        if since is not None:
            key = f"alert[{entry['name']}]"
            values[key] = min(since, values.get(key, since))
    return values


def alert_lines(entries: list[dict]) -> list[str]:
    """One plain line per alert entry, for the terminal summary."""
    lines = []
    for entry in entries:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(entry["labels"].items())
                           if k != "severity")
        name = entry["name"] + (f"{{{labels}}}" if labels else "")
        if not entry["fired"]:
            lines.append(f"{name}: never fired")
            continue
        since = entry["since_incident_s"]
        when = (f"fired at {entry['first_fired_at_s']:g} s"
                + (f", {since:g} s after the incident started" if since is not None else ""))
        if entry["since_detector_s"] is not None:
            when += f", {entry['since_detector_s']:+g} s from banksim's detector"
        resolved = entry["resolved_at_s"]
        lines.append(f"{name}: {when}; " + (f"resolved at {resolved:g} s" if resolved is not None
                                            else "still firing at the end"))
    return lines
