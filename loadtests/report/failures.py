"""The failure breakdown: which journeys failed, how (the phone's `failure`, see
loadtests.phone.journal.FAILURES), and on which network; and success per network.

A slow, cut or offline link shows here as timeouts inside bodies, truncated bodies and
connections reset before any byte, on the phones of one network (X-Network), while the
success rate per (platform, network) shows who was spared.
"""
from .aggregate import group, journey_key, version_key

UNKNOWN = "unknown"  # a run whose phones recorded no network or failure


def failure_rows(events) -> list[dict]:
    """Failed journeys per (journey, platform, app_version, network, failure), most first."""
    groups = group((e for e in events if not e.ok),
                   lambda e: (e.journey, e.platform, e.app_version, e.network or UNKNOWN,
                              e.failure or UNKNOWN))
    rows = [{"journey": journey, "platform": platform, "app_version": version,
             "network": network, "failure": failure, "journeys": len(items)}
            for (journey, platform, version, network, failure), items in groups.items()]
    return sorted(rows, key=lambda r: (-r["journeys"], journey_key(r["journey"]),
                                       r["platform"], version_key(r["app_version"]),
                                       r["network"], r["failure"]))


def network_rows(events) -> list[dict]:
    """Per (platform, network): journeys, failed, success rate."""
    groups = group(events, lambda e: (e.platform, e.network or UNKNOWN))
    rows = []
    for (platform, network), items in sorted(groups.items()):
        failed = sum(not e.ok for e in items)
        rows.append({"platform": platform, "network": network, "journeys": len(items),
                     "failed": failed, "success": round(1 - failed / len(items), 6)})
    return rows


def failure_line(report: dict) -> str | None:
    """"failed journeys by how: reset_before_answer 12, ...; by network: cellular 10, ..."
    for the terminal summary; None when no failed journey says how it failed."""
    rows = [row for row in report.get("failures") or () if row["failure"] != UNKNOWN]
    if not rows:
        return None
    how, where = {}, {}
    for row in rows:
        how[row["failure"]] = how.get(row["failure"], 0) + row["journeys"]
        where[row["network"]] = where.get(row["network"], 0) + row["journeys"]
    return f"failed journeys by how: {_ranked(how)}; by network: {_ranked(where)}"


def _ranked(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in
                     sorted(counts.items(), key=lambda item: (-item[1], item[0])))
