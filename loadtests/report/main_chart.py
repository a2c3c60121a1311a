"""The report's main chart: journey success per app version over time, on the phases.

Made to be read at a glance, by colour-blind readers too:

- Okabe-Ito colours (safe for the common colour-blindness types); the bad version in
  vermillion with a thick line, the hotfix in bluish green, the phases in light greys so
  no version colour sits on a band of its own hue.
- Versions that lie on top of each other (several at 100 %) stay visible: the version with
  the most journeys is drawn first with the widest line, each next one narrower on top of
  it, so overlapping lines show as nested stripes; each has its own marker, shifted a
  little inside its time bucket (a bucket's journeys start anywhere in it, so the shift
  says nothing false). The bad version is drawn last, on top of everything.
- A bucket's marker area grows with its journeys; a bucket with fewer than
  `MIN_BUCKET_JOURNEYS` is a hollow marker of one fixed size, left off the line (two
  journeys can only read 0 %, 50 % or 100 %).
- The y axis ends at 100 %. The SLO line is drawn over the versions' lines (labelled at
  the right edge), so a wide stripe at 100 % cannot hide a 99 % SLO just under it.
"""
from collections import defaultdict

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from .fmt import percent, seconds, span

MIN_BUCKET_JOURNEYS = 5
BAD_COLOUR, HOTFIX_COLOUR = "#D55E00", "#009E73"  # Okabe-Ito vermillion, bluish green
OTHER_COLOURS = ("#0072B2", "#56B4E9", "#CC79A7", "#E69F00", "#999999")  # Okabe-Ito
MARKERS = ("s", "o", "^", "D", "v", "P", "X")
PHASE_SHADES = {"baseline": "#f4f4f4", "incident": "#d9d9d9", "recovery": "#ebebeb"}
MARKER_AREA = (6.0, 45.0)  # points², for the smallest and the largest bucket
HOLLOW_AREA = 22.0  # points²: big enough to notice, the outline says "few journeys"
WIDEST, NARROWEST, STEP = 10.0, 1.5, 4.0  # line widths, nested from the widest (points)
SLO_ZORDER = 20  # versions draw at 4 + rank / 10: the SLO line goes on top of them all


def version_styles(report: dict) -> dict[str, dict]:
    """Colour, marker, line width and drawing rank per app version, in PEP 440 order.

    Versions the incident did not hurt are ranked by journeys, most first: the first gets
    the widest line and is drawn at the bottom. Bad versions come last, on top."""
    rows = report.get("versions") or []
    bad = set((report.get("incident") or {}).get("bad_versions") or ())
    ranked = sorted(rows, key=lambda r: (r["app_version"] in bad, -r["journeys"]))
    styles, others = {}, 0
    for rank, row in enumerate(ranked):
        if row["app_version"] in bad:
            colour, width = BAD_COLOUR, 2.8
        else:
            width = max(NARROWEST, WIDEST - STEP * rank)
            if row.get("first_phase") == "recovery":
                colour = HOTFIX_COLOUR
            else:
                colour, others = OTHER_COLOURS[others % len(OTHER_COLOURS)], others + 1
        styles[row["app_version"]] = {"color": colour, "linewidth": width, "rank": rank,
                                      "marker": MARKERS[rank % len(MARKERS)]}
    return {row["app_version"]: styles[row["app_version"]] for row in rows}


def buckets(report: dict) -> dict[str, list[tuple[float, float, int]]]:
    """{app_version: [(x, success rate, journeys)]}, x shifted inside the bucket per version."""
    bucket_s = report.get("timeline_bucket_s") or 1
    versions = [row["app_version"] for row in report.get("versions") or ()]
    series = defaultdict(list)
    for row in report["timeline"]:
        slot = versions.index(row["app_version"]) if row["app_version"] in versions else 0
        shift = (slot + 1) / (len(versions) + 1) if versions else 0.5
        series[row["app_version"]].append((row["t_s"] + bucket_s * shift,
                                           1 - row["failed"] / row["attempts"], row["attempts"]))
    return series


def success_over_time_figure(report: dict, figure: Figure) -> None:
    """Draw the main chart on `figure` (see the module docstring)."""
    ax = figure.add_subplot()
    if not report["timeline"]:
        ax.text(0.5, 0.5, "no journeys in this run", ha="center", va="center",
                transform=ax.transAxes, color="grey")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    _phases(ax, report["phases"])
    series = buckets(report)
    biggest = max(n for points in series.values() for _, _, n in points)
    styles = version_styles(report)
    drawn = {v: _version(ax, v, series[v], styles[v], biggest) for v in series}
    handles = [drawn[v] for v in styles if v in drawn] + _monitoring(ax, report) + \
        _marks(ax, report) + _prometheus_alerts(ax, report)
    lowest = min(rate for points in series.values() for _, rate, _ in points)
    last = max(x for points in series.values() for x, _, _ in points)
    ax.set_xlim(0, max(report["duration_s"], last))
    ax.set_ylim(max(0.0, int((lowest - 0.05) * 10) / 10), 1.0)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_xlabel("seconds since the run started (journeys by start time, "
                  f"{seconds(report.get('timeline_bucket_s'))} buckets)")
    ax.set_ylabel("journeys that succeeded")
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8,
              frameon=False)


def _phases(ax, phases: list[dict]) -> None:
    for phase in phases:
        ax.axvspan(phase["start_s"], phase["end_s"], color=PHASE_SHADES.get(phase["name"],
                   "#eeeeee"), zorder=0)
        ax.axvline(phase["start_s"], color="#888888", linewidth=0.8, zorder=1)
        ax.text((phase["start_s"] + phase["end_s"]) / 2, 1.03,
                f"{phase['name']}\n{span(phase['start_s'], phase['end_s'])}", ha="center",
                va="bottom", transform=ax.get_xaxis_transform(), fontsize=9, weight="bold")


def _version(ax, version: str, points: list, style: dict, biggest: int) -> Line2D:
    """One version: a line through its buckets of at least MIN_BUCKET_JOURNEYS journeys,
    filled markers sized by journeys there, hollow markers for the smaller buckets."""
    zorder = 4 + style["rank"] / 10
    solid = [p for p in points if p[2] >= MIN_BUCKET_JOURNEYS]
    sparse = [p for p in points if p[2] < MIN_BUCKET_JOURNEYS]
    if solid:
        xs, ys, ns = zip(*solid, strict=True)
        ax.plot(xs, ys, color=style["color"], linewidth=style["linewidth"], zorder=zorder,
                solid_capstyle="butt", clip_on=False)  # a line at 100 % shows in full
        ax.scatter(xs, ys, s=[_area(n, biggest) for n in ns], marker=style["marker"],
                   color=style["color"], edgecolors="black", linewidths=0.4,
                   zorder=zorder + 0.05, clip_on=False)
    if sparse:
        xs, ys, ns = zip(*sparse, strict=True)
        ax.scatter(xs, ys, s=HOLLOW_AREA, marker=style["marker"],
                   facecolors="none", edgecolors=style["color"], linewidths=1.2,
                   zorder=zorder + 0.05, clip_on=False)
    journeys = sum(n for _, _, n in points)
    return Line2D([], [], color=style["color"], linewidth=min(style["linewidth"], 5),
                  marker=style["marker"], markeredgecolor="black", markeredgewidth=0.4,
                  label=f"app {version} ({journeys:,} journeys)")


def _area(n: int, biggest: int) -> float:
    low, high = MARKER_AREA
    return low + (high - low) * n / max(biggest, 1)


def _monitoring(ax, report: dict) -> list:
    """What monitoring sees (all versions together), and how to read the markers."""
    bucket_s = report.get("timeline_bucket_s") or 1
    overall = defaultdict(lambda: [0, 0])
    for row in report["timeline"]:
        overall[row["t_s"]][0] += row["attempts"]
        overall[row["t_s"]][1] += row["failed"]
    xs = [t + bucket_s / 2 for t in sorted(overall)]
    ys = [1 - overall[t][1] / overall[t][0] for t in sorted(overall)]
    line, = ax.plot(xs, ys, color="black", linewidth=1.8, zorder=3,
                    label="all versions (what monitoring sees)")
    grey = "#555555"
    return [line,
            Line2D([], [], linestyle="none", marker="o", color=grey, markersize=8,
                   label="marker area: journeys in the bucket"),
            Line2D([], [], linestyle="none", marker="o", markerfacecolor="none",
                   markeredgecolor=grey, markersize=5,
                   label=f"hollow: fewer than {MIN_BUCKET_JOURNEYS} journeys (off the line)")]


def _marks(ax, report: dict) -> list:
    """The SLO, and the moments the alert fired and the error rate recovered."""
    handles = []
    slo = report.get("slo")
    if slo:
        # Above every version's line: the widest stripe at 100 % would otherwise cover it.
        handles.append(ax.axhline(slo, color="black", linestyle=(0, (2, 2)), linewidth=1.4,
                                  zorder=SLO_ZORDER, clip_on=False,
                                  label=f"SLO: {percent(slo)} of journeys succeed"))
        ax.text(1.0, slo, f"SLO {percent(slo)} ", transform=ax.get_yaxis_transform(),
                ha="right", va="top", fontsize=8, zorder=SLO_ZORDER,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    incident = report["incident"]
    for key, text, style in (("detected_at_s", "alert fired", "--"),
                             ("recovered_at_s", "recovered", (0, (6, 2, 1, 2)))):
        if incident.get(key) is not None:
            handles.append(ax.axvline(incident[key], color="#222222", linestyle=style,
                                      linewidth=1.4, zorder=2,
                                      label=f"{text} at {seconds(incident[key])}"))
            ax.text(incident[key], 0.02, f" {text}", transform=ax.get_xaxis_transform(),
                    fontsize=8, rotation=90, va="bottom", ha="right")
    return handles


ALERT_COLOUR, ALERT_ROW = "#CC79A7", 0.045  # Okabe-Ito reddish purple; a bar's height (axes)


def _prometheus_alerts(ax, report: dict) -> list:
    """Each Prometheus alert that fired (`--prometheus`) as a bar along the bottom of the
    chart while it was firing, named where it starts; nothing without such alerts."""
    fired = [a for a in report.get("alerts") or () if a["fired"]]
    end = report.get("duration_s") or 0
    for row, alert in enumerate(fired):
        start = alert["first_fired_at_s"]
        stop = alert["resolved_at_s"] if alert["resolved_at_s"] is not None else end
        y = 0.1 + row * ALERT_ROW
        ax.plot([start, max(stop, start)], [y, y], color=ALERT_COLOUR, linewidth=5,
                solid_capstyle="butt", transform=ax.get_xaxis_transform(), zorder=SLO_ZORDER)
        labels = ",".join(str(v) for k, v in sorted(alert["labels"].items())
                          if k != "severity")
        ax.text(start, y + ALERT_ROW / 3, f" {alert['name']}" + (f" {labels}" if labels else ""),
                transform=ax.get_xaxis_transform(), fontsize=7, va="bottom",
                zorder=SLO_ZORDER, bbox={"facecolor": "white", "edgecolor": "none",
                                         "alpha": 0.7, "pad": 0.5})
    if not fired:
        return []
    return [Line2D([], [], color=ALERT_COLOUR, linewidth=5,
                   label="Prometheus alert firing (named at its start)")]
