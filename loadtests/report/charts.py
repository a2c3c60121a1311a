"""The report's charts, drawn with matplotlib's object API on the Agg canvas.

No pyplot: pyplot keeps global figures and picks a GUI backend; a `Figure` with an explicit
`FigureCanvasAgg` renders off-screen, in any thread, and leaks nothing between calls.
Each function takes the report dict and returns PNG bytes.
"""
import io
from collections import defaultdict

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .events import journey_key, phase_key
from .main_chart import success_over_time_figure

PHASE_BAR_COLOURS = {"baseline": "#74c476", "incident": "#ef6548", "recovery": "#fdae6b"}
PERCENTILE_COLOURS = {"p50_ms": "#9ecae1", "p95_ms": "#4292c6", "p99_ms": "#08519c"}
FAILED, SUCCEEDED = "#D55E00", "#A6CEE3"  # vermillion, light blue: apart for colour-blind eyes
LATENCY_COLUMNS = 3


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
    """The main chart (`main_chart` module) as PNG bytes."""
    figure = _figure(11, 5)
    success_over_time_figure(report, figure)
    return _png(figure, dpi)


def latency_percentiles(report: dict, dpi: int = 100) -> bytes:
    """p50/p95/p99 journey duration per app version, one panel per journey."""
    panels = len({r["journey"] for r in report.get("latency") or []})
    figure = _figure(11, 0.6 + 3.0 * max(1, -(-panels // LATENCY_COLUMNS)))
    latency_figure(report, figure)
    return _png(figure, dpi)


def latency_figure(report: dict, figure: Figure) -> None:
    """Every panel on one y scale (a 3 s bar must look as tall in each), the legend above
    the panels, outside every bar."""
    rows = report.get("latency") or []
    journeys = sorted({r["journey"] for r in rows}, key=journey_key)
    if not journeys:
        _no_data(figure.add_subplot(), "journeys")
        return
    grid = figure.subplots(-(-len(journeys) // LATENCY_COLUMNS), LATENCY_COLUMNS,
                           squeeze=False, sharey=True)
    axes = list(grid.flat)
    for ax, journey in zip(axes, journeys, strict=False):  # the grid may have spare axes
        mine = [r for r in rows if r["journey"] == journey]
        for offset, (key, colour) in enumerate(PERCENTILE_COLOURS.items()):
            ax.bar([i + (offset - 1) * 0.27 for i in range(len(mine))],
                   [r[key] or 0 for r in mine], width=0.27, color=colour, label=key[:3])
        ax.set_xticks(range(len(mine)), [r["app_version"] for r in mine], fontsize=8)
        ax.set_title(journey, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        if report.get("slo_p95_ms") is not None:  # above the bars, so a tall one cannot hide it
            ax.axhline(report["slo_p95_ms"], color=FAILED, linestyle="--", linewidth=1.4,
                       zorder=5, label=f"latency SLO: p95 within {report['slo_p95_ms']:g} ms")
    for ax in grid[:, 0]:
        ax.set_ylabel("duration (ms)", fontsize=8)
    for ax in axes[len(journeys):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside upper center", ncols=len(labels), fontsize=8,
                  frameon=False, title="journey duration percentile, same scale in every panel",
                  title_fontsize=8)


def failures_by_version(report: dict, dpi: int = 100) -> bytes:
    """Journeys that failed, and users who saw at least one failure, per app version."""
    figure = _figure(11, 4.2)
    failures_figure(report, figure)
    return _png(figure, dpi)


def failures_figure(report: dict, figure: Figure) -> None:
    """Two stacked bar panels; each legend sits under its panel, off the bars."""
    rows = report["versions"]
    if not rows:
        _no_data(figure.add_subplot(), "journeys")
        return
    left, right = figure.subplots(1, 2)
    names = [r["app_version"] for r in rows]
    for ax, total, part, labels, title, ylabel in (
            (left, "journeys", "failed", ("succeeded", "failed"), "journeys per app version",
             "journeys"),
            (right, "users", "users_affected", ("no failed journey", "at least one failed journey")
             if report.get("slo_p95_ms") is None else
             ("no failed or too slow journey", "a failed journey or one over the latency SLO"),
             "users per app version", "users who ran a journey on it")):
        fine = [r[total] - r[part] for r in rows]
        ax.bar(names, fine, color=SUCCEEDED, label=labels[0])
        ax.bar(names, [r[part] for r in rows], bottom=fine, color=FAILED, label=labels[1])
        ax.set_ylim(0, max(r[total] for r in rows) * 1.08 or 1)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("app version")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, ncols=2, frameon=False, loc="upper center",
                  bbox_to_anchor=(0.5, -0.2))


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
