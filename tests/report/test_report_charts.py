"""The charts as drawn: axis limits, colours, markers and legends, read off the figures."""
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from tests.helpers.journey_streams import event, slow_release
from loadtests.report import build_report
from loadtests.report.charts import latency_figure
from loadtests.report.main_chart import (BAD_COLOUR, MIN_BUCKET_JOURNEYS,
                                         success_over_time_figure)

PHASES = [{"name": "baseline", "start_s": 0.0, "end_s": 30.0},
          {"name": "incident", "start_s": 30.0, "end_s": 60.0},
          {"name": "recovery", "start_s": 60.0, "end_s": 90.0}]


@pytest.fixture(scope="module")
def report() -> dict:
    """4.1.3 and 4.1.2 at 100 % all along (10 and 6 journeys a bucket); 4.2.0 from 30 s
    with 8 journeys a bucket, 2 failing, except one bucket of 2 journeys with 1 failing."""
    events = []
    for bucket in range(0, 90, 3):  # build_report picks 2 s buckets for 90 s; stay inside
        t = bucket - bucket % 2
        phase = "baseline" if t < 30 else "incident" if t < 60 else "recovery"
        events += [event(t_s=t, user=f"a{n}", app_version="4.1.3", phase=phase)
                   for n in range(10)]
        events += [event(t_s=t, user=f"b{n}", app_version="4.1.2", phase=phase)
                   for n in range(6)]
        if 30 <= t < 60:
            count = 2 if t == 36 else 8
            events += [event(t_s=t, user=f"c{n}", app_version="4.2.0", phase=phase, ok=n >= 2
                             if count == 8 else n == 0) for n in range(count)]
    return build_report(events, PHASES, {"scenario": "bad-release", "duration_s": 90}, {}, [])


@pytest.fixture(scope="module")
def main_axes(report):
    figure = Figure(figsize=(11, 5), layout="constrained")
    success_over_time_figure(report, figure)
    return figure.axes[0]


def scatters(ax, colour: str) -> list[PathCollection]:
    """The marker collections drawn in `colour` (filled or as an outline)."""
    found = []
    for c in ax.collections:
        if not isinstance(c, PathCollection):
            continue
        colours = [*c.get_facecolors(), *c.get_edgecolors()]
        if any(to_hex(rgba, keep_alpha=False) == colour.lower() for rgba in colours):
            found.append(c)
    return found


def test_y_axis_ends_at_100_percent(main_axes):
    low, high = main_axes.get_ylim()
    assert 0 <= low < 0.75 and high == 1.0
    visible = [t for t in main_axes.get_yticks() if low <= t <= high]
    assert max(visible) == 1.0


def test_bad_version_is_vermillion_on_grey_phase_bands(report, main_axes):
    assert report["incident"]["bad_versions"] == ["4.2.0"]
    assert scatters(main_axes, BAD_COLOUR)
    bands = [p for p in main_axes.patches if isinstance(p, Rectangle)]
    assert len(bands) == 3
    for band in bands:  # grey: no hue of its own for a version colour to drown in
        r, g, b = to_rgb(band.get_facecolor())
        assert r == g == b


def test_versions_at_the_same_rate_are_nested_lines(main_axes):
    """4.1.3 (more journeys) is drawn wider and below 4.1.2; the bad version on top."""
    lines = {line.get_color(): line for line in main_axes.get_lines() if len(line.get_xdata())}
    widths = sorted((line.get_linewidth(), line.get_zorder()) for line in lines.values()
                    if line.get_color() != "black")
    assert len({w for w, _ in widths}) == len(widths)  # no two versions the same width
    assert lines[BAD_COLOUR].get_zorder() == max(z for _, z in widths)


def test_small_buckets_are_hollow_and_markers_grow_with_journeys(main_axes):
    bad = scatters(main_axes, BAD_COLOUR)
    hollow = [c for c in bad if not c.get_facecolors().any()]
    assert len(hollow) == 1 and len(hollow[0].get_offsets()) == 1  # the bucket of 2
    assert hollow[0].get_offsets()[0][1] == 0.5
    assert 2 < MIN_BUCKET_JOURNEYS <= 8
    sizes = {round(s, 3) for c in main_axes.collections if c.get_facecolors().any()
             for s in c.get_sizes()}
    assert len(sizes) == 3  # filled: buckets of 6, 8 and 10 journeys do not look alike
    legend = " ".join(t.get_text() for t in main_axes.get_legend().get_texts())
    assert f"fewer than {MIN_BUCKET_JOURNEYS} journeys" in legend
    assert "marker area" in legend
    assert "app 4.2.0 (74 journeys)" in legend  # 9 buckets of 8, one of 2


def test_phase_labels_give_rounded_times():
    stream_phases = [{"name": "baseline", "start_s": 0.0, "end_s": 44.898},
                     {"name": "incident", "start_s": 44.898, "end_s": 107.756},
                     {"name": "recovery", "start_s": 107.756, "end_s": 179.594}]
    report = build_report([event(t_s=1.0)], stream_phases, {"duration_s": 179.594}, {}, [])
    figure = Figure()
    success_over_time_figure(report, figure)
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert "incident\n45–108 s" in texts and "recovery\n108–180 s" in texts


def test_latency_panels_share_one_scale_and_keep_the_legend_off_the_bars(report):
    rows = [{"journey": journey, "app_version": "4.1.3", "p50_ms": 100.0, "p95_ms": p95,
             "p99_ms": p95 + 10} for journey, p95 in (("app_open", 200.0),
                                                       ("send_money", 3000.0))]
    figure = Figure(layout="constrained")
    latency_figure({"latency": rows}, figure)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert len(visible) == 2
    assert visible[0].get_ylim() == visible[1].get_ylim()
    assert all(ax.get_legend() is None for ax in figure.axes)
    assert len(figure.legends) == 1


def test_the_slo_line_is_drawn_above_every_versions_stripes(main_axes):
    """A 99 % SLO sits just under the 100 % stripes: drawn below them, it is hidden."""
    slo = next(line for line in main_axes.get_lines() if line.get_label().startswith("SLO"))
    versions = [artist.get_zorder() for artist in [*main_axes.get_lines(),
                                                   *main_axes.collections]
                if artist is not slo]
    assert slo.get_zorder() > max(versions)
    assert any(t.get_text().strip() == "SLO 99.0 %" for t in main_axes.texts)


def test_latency_panels_draw_the_latency_slo():
    s = slow_release()
    report = build_report(s.events, s.phases, s.meta(), {}, [], p95_ms=2000)
    figure = Figure(layout="constrained")
    latency_figure(report, figure)
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert len(panels) == len({e["journey"] for e in s.events})
    for ax in panels:
        slo = [line for line in ax.get_lines() if "latency SLO" in line.get_label()]
        assert len(slo) == 1 and list(slo[0].get_ydata()) == [2000, 2000]
        assert slo[0].get_zorder() > max(bar.get_zorder() for bar in ax.patches)
    assert "latency SLO" in " ".join(t.get_text() for t in figure.legends[0].get_texts())


def test_latency_panels_without_a_latency_slo_draw_no_line(report):
    figure = Figure(layout="constrained")
    latency_figure(report, figure)
    assert not [line for ax in figure.axes for line in ax.get_lines()]
