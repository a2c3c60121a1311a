"""The report's charts, drawn with matplotlib's object API on the Agg canvas.

No pyplot: pyplot keeps global figures and picks a GUI backend; a `Figure` with an explicit
`FigureCanvasAgg` renders off-screen, in any thread, and leaks nothing between calls.
Each function takes the report dict and returns PNG bytes.
"""
import io
from collections import defaultdict

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from .events import journey_key, phase_key

PHASE_COLOURS = {"baseline": "#e3f0e3", "incident": "#f9d9d6", "recovery": "#fdf0cc"}
PHASE_BAR_COLOURS = {"baseline": "#74c476", "incident": "#ef6548", "recovery": "#fdae6b"}
# Red and green mean "alert" and "recovered" on the main chart, so versions get other colours.
VERSION_PALETTE = ("C0", "C1", "C4", "C5", "C6", "C8", "C9", "C7")
PERCENTILE_COLOURS = {"p50_ms": "#9ecae1", "p95_ms": "#4292c6", "p99_ms": "#08519c"}
FAILED, SUCCEEDED = "#d62728", "#9cc79c"


def version_colours(report: dict) -> dict[str, str]:
    """One colour per app version, the same in every chart (versions in PEP 440 order)."""
    return {row["app_version"]: VERSION_PALETTE[i % len(VERSION_PALETTE)]
            for i, row in enumerate(report["versions"])}


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _no_data(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in this run", ha="center", va="center",
            transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def success_over_time(report: dict, dpi: int = 100) -> bytes:
    """The main chart: journey success rate per bucket and app version, the phases shaded,
    the SLO as a line, and the moments the alert fired and the error rate recovered."""
    figure = _figure(11, 5)
    ax = figure.add_subplot()
    bucket_s = report.get("timeline_bucket_s") or 1
    if not report["timeline"]:
        _no_data(ax, "journeys")
        return _png(figure, dpi)
    for phase in report["phases"]:
        ax.axvspan(phase["start_s"], phase["end_s"], color=PHASE_COLOURS.get(phase["name"],
                   "#eeeeee"), zorder=0)
        ax.text((phase["start_s"] + phase["end_s"]) / 2, 1.01, phase["name"], ha="center",
                va="bottom", transform=ax.get_xaxis_transform(), fontsize=10, weight="bold")

    series, overall = defaultdict(list), defaultdict(lambda: [0, 0])
    for row in report["timeline"]:
        series[row["app_version"]].append(
            (row["t_s"] + bucket_s / 2, 1 - row["failed"] / row["attempts"]))
        overall[row["t_s"]][0] += row["attempts"]
        overall[row["t_s"]][1] += row["failed"]
    lowest = 1.0
    for version, colour in version_colours(report).items():
        points = series.get(version)
        if points:
            xs, ys = zip(*points, strict=True)
            lowest = min(lowest, *ys)
            ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.4, color=colour,
                    label=f"app {version}")
    xs = [t + bucket_s / 2 for t in sorted(overall)]
    ys = [1 - overall[t][1] / overall[t][0] for t in sorted(overall)]
    ax.plot(xs, ys, color="black", linewidth=2.2, label="all versions (what monitoring sees)")

    slo = report.get("slo")
    if slo:
        ax.axhline(slo, color="dimgrey", linestyle=":", linewidth=1.2,
                   label=f"SLO {slo:.1%} of journeys succeed")
    incident = report["incident"]
    if incident.get("detected_at_s") is not None:
        ax.axvline(incident["detected_at_s"], color=FAILED, linestyle="--", linewidth=1.5,
                   label=f"alert fired at {incident['detected_at_s']:g} s")
    if incident.get("recovered_at_s") is not None:
        ax.axvline(incident["recovered_at_s"], color="green", linestyle="--", linewidth=1.5,
                   label=f"recovered at {incident['recovered_at_s']:g} s")

    ax.set_xlim(0, max(report["duration_s"], xs[-1]))
    ax.set_ylim(max(0.0, int((min(lowest, *ys) - 0.05) * 10) / 10), 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_xlabel("seconds since the run started (journeys by start time, "
                  f"{bucket_s:g} s buckets)")
    ax.set_ylabel("journeys that succeeded")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    return _png(figure, dpi)


def latency_percentiles(report: dict, dpi: int = 100) -> bytes:
    """p50/p95/p99 journey duration per app version, one panel per journey."""
    rows = report.get("latency") or []
    journeys = sorted({r["journey"] for r in rows}, key=journey_key)
    cols = 3
    figure = _figure(11, 3.2 * max(1, -(-len(journeys) // cols)))
    if not journeys:
        _no_data(figure.add_subplot(), "journeys")
        return _png(figure, dpi)
    axes = list(figure.subplots(-(-len(journeys) // cols), cols, squeeze=False).flat)
    for ax, journey in zip(axes, journeys, strict=False):  # the grid may have spare axes
        mine = [r for r in rows if r["journey"] == journey]
        for offset, (key, colour) in enumerate(PERCENTILE_COLOURS.items()):
            ax.bar([i + (offset - 1) * 0.27 for i in range(len(mine))],
                   [r[key] or 0 for r in mine], width=0.27, color=colour, label=key[:3])
        ax.set_xticks(range(len(mine)), [r["app_version"] for r in mine], fontsize=8)
        ax.set_title(journey, fontsize=10)
        ax.set_ylabel("duration (ms)", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(journeys):]:
        ax.set_visible(False)
    figure.axes[0].legend(fontsize=8)
    return _png(figure, dpi)


def failures_by_version(report: dict, dpi: int = 100) -> bytes:
    """Journeys that failed, and users who saw at least one failure, per app version."""
    figure = _figure(11, 3.8)
    rows = report["versions"]
    if not rows:
        _no_data(figure.add_subplot(), "journeys")
        return _png(figure, dpi)
    left, right = figure.subplots(1, 2)
    names = [r["app_version"] for r in rows]
    failed = [r["failed"] for r in rows]
    left.bar(names, [r["journeys"] - f for r, f in zip(rows, failed, strict=True)], color=SUCCEEDED,
             label="succeeded")
    left.bar(names, failed, bottom=[r["journeys"] - f for r, f in zip(rows, failed, strict=True)],
             color=FAILED, label="failed")
    left.set_title("journeys per app version")
    left.set_ylabel("journeys")
    hurt = [r["users_affected"] for r in rows]
    right.bar(names, [r["users"] - h for r, h in zip(rows, hurt, strict=True)], color=SUCCEEDED,
              label="no failed journey")
    right.bar(names, hurt, bottom=[r["users"] - h for r, h in zip(rows, hurt, strict=True)],
              color=FAILED, label="at least one failed journey")
    right.set_title("users per app version")
    right.set_ylabel("users who ran a journey on it")
    for ax, totals in ((left, [r["journeys"] for r in rows]), (right, [r["users"] for r in rows])):
        ax.set_ylim(0, max(totals) * 1.2 or 1)  # room for the legend above the bars
        ax.set_xlabel("app version")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    return _png(figure, dpi)


def retries_by_phase(report: dict, dpi: int = 100) -> bytes:
    """Retries per journey (all versions) for each journey type, one bar per phase."""
    figure = _figure(11, 3.8)
    ax = figure.add_subplot()
    totals = defaultdict(lambda: [0, 0])
    for row in report["journeys"]:
        totals[(row["journey"], row["phase"])][0] += row["retries"]
        totals[(row["journey"], row["phase"])][1] += row["attempts"]
    if not totals:
        _no_data(ax, "journeys")
        return _png(figure, dpi)
    journeys = sorted({j for j, _ in totals}, key=journey_key)
    phases = sorted({p for _, p in totals}, key=phase_key)
    width = 0.8 / len(phases)
    for n, phase in enumerate(phases):
        values = [totals[(j, phase)][0] / totals[(j, phase)][1] if totals[(j, phase)][1] else 0
                  for j in journeys]
        ax.bar([i + (n - (len(phases) - 1) / 2) * width for i in range(len(journeys))], values,
               width=width, label=phase, color=PHASE_BAR_COLOURS.get(phase, "#cccccc"))
    ax.set_xticks(range(len(journeys)), journeys)
    ax.set_ylabel("retries per journey")
    ax.set_title(f"client retries by phase (client policy: {report.get('client_policy')})")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(figure, dpi)
