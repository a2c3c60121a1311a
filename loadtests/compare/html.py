"""compare.html: the variants side by side, one self-contained page (charts inlined as PNG
data URIs, CSS inline, no scripts, no network), like report.html.

Two charts, drawn with matplotlib's object API on the Agg canvas (as `report.charts`):
each metric as one panel with a dot per variant at its mean and a bar from min to max,
and journey success over time with one line per variant.
"""
import base64
from pathlib import Path

from jinja2 import Environment
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from loadtests.compare.metrics import METRICS, runs_for
from loadtests.compare.summary import LABELS, cell, params_text, single_run_note
from loadtests.report.charts import _png

COLUMNS = 4

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>banksim compare: {{ d.scenario }}</title>
<style>
 body { font: 15px/1.45 system-ui, sans-serif; max-width: 1200px; margin: 2em auto; color: #222;
        padding: 0 1em; }
 h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
 table { border-collapse: collapse; margin: .6em 0; font-size: 13px; }
 th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
 th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
 .fail { color: #b71c1c; font-weight: bold; } .muted { color: #666; } img { max-width: 100%; }
 .read { background: #f7f9fc; border-left: 4px solid #4292c6; padding: .6em 1em; }
</style></head><body>
<h1>banksim compare: {{ d.scenario }}</h1>
<p class="muted">seed {{ d.seed }} (run j of a variant uses seed {{ d.seed }} + j - 1)
 &middot; {{ d.repeat }} run(s) per variant &middot; {{ d.variants|length }} variant(s)
 {% if d.runs_done is defined %}&middot; {{ d.runs_done }} of {{ d.runs_planned }} runs
 done{% endif %}</p>
<div class="read"><b>How to read this.</b> Every variant ran the same scenario with the same
seeds; only the values named in its row changed. Each figure is the mean over the n runs
that measured it, with the lowest and highest run in brackets; a run in which the alert never
fired counts as that outcome, not as a number. When two variants' ranges overlap, the
difference is within what chance alone produced here, and the verdict says <i>no clear
difference</i>; it says <i>clearly</i> only when every variant measured the metric in the
same number of runs, at least two, and the ranges do not overlap.
{% if note %}<br><b>{{ note }}</b>{% endif %}</div>

<h2>Verdicts</h2>
{% for key, lines in d.verdicts.items() %}<p><b>{{ key }}</b></p><ul>
{% for line in lines %}<li>{{ line }}</li>{% else %}<li>nothing to compare</li>{% endfor %}</ul>
{% endfor %}

<h2>Variants side by side</h2>
<table><tr><th>variant</th>{% for m in metrics %}<th>{{ labels[m] }}</th>{% endfor %}
<th>integrity</th><th>runs</th></tr>
{% for v in d.variants %}<tr><td>{{ params_text(v.params) }}</td>
{% for m in metrics %}<td>{{ cell(m, v.metrics[m], runs_for(v, m)) }}</td>{% endfor %}
<td class="{{ '' if v.integrity_ok else 'fail' }}">{{ 'ok' if v.integrity_ok else 'FAILED' }}</td>
<td>{% for run in v.runs %}<a href="{{ run }}/report.html">{{ loop.index }}</a>
{% endfor %}</td></tr>
{% endfor %}</table>

<h2>Each metric with its spread</h2>
<img alt="each metric per variant: mean and min-max" src="data:image/png;base64,{{ img.spread }}">

<h2>Journey success over time</h2>
<img alt="journey success over time, one line per variant"
 src="data:image/png;base64,{{ img.time }}">
</body></html>
"""


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def spread_chart(document: dict) -> bytes:
    """One panel per metric: the mean as a dot, min-max as an error bar, per variant."""
    variants = document["variants"]
    rows = -(-len(METRICS) // COLUMNS)
    figure = _figure(12, 2.6 * rows)
    axes = list(figure.subplots(rows, COLUMNS, squeeze=False).flat)
    names = [f"v{i + 1}" for i in range(len(variants))]
    for ax, metric in zip(axes, METRICS, strict=False):
        for i, variant in enumerate(variants):
            s = variant["metrics"][metric]
            if s is None:
                continue
            ax.errorbar([i], [s["mean"]], yerr=[[s["mean"] - s["min"]], [s["max"] - s["mean"]]],
                        fmt="o", color=f"C{i % 10}", capsize=5)
        ax.set_xticks(range(len(variants)), names, fontsize=8)
        ax.set_xlim(-0.6, len(variants) - 0.4)
        ax.set_title(LABELS[metric], fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(METRICS):]:
        ax.set_visible(False)
    figure.legend(handles=[_key(i, v) for i, v in enumerate(variants)], loc="outside lower center",
                  ncols=min(3, len(variants)) or 1, fontsize=8, frameon=False)
    return _png(figure)


def _key(i: int, variant: dict):
    from matplotlib.lines import Line2D
    return Line2D([], [], marker="o", linestyle="", color=f"C{i % 10}",
                  label=f"v{i + 1}: {params_text(variant['params'])}")


def time_chart(document: dict) -> bytes:
    """Journey success (all versions) over the run, one line per variant (runs averaged)."""
    figure = _figure(12, 4.5)
    ax = figure.add_subplot()
    for i, variant in enumerate(document["variants"]):
        points = variant.get("success_over_time") or []
        ax.plot([p[0] for p in points], [100 * p[1] for p in points], color=f"C{i % 10}",
                marker=".", label=f"v{i + 1}: {params_text(variant['params'])}")
    ax.set_xlabel("seconds since the run started")
    ax.set_ylabel("journeys that succeeded (%)")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    if document["variants"]:
        ax.legend(fontsize=8, loc="lower left")
    return _png(figure)


def write_compare_html(document: dict, path: str | Path) -> Path:
    env = Environment(autoescape=True)
    images = {"spread": spread_chart(document), "time": time_chart(document)}
    html = env.from_string(PAGE).render(
        d=document, metrics=METRICS, labels=LABELS, cell=cell, runs_for=runs_for,
        params_text=params_text, note=single_run_note(document),
        img={k: base64.b64encode(v).decode("ascii") for k, v in images.items()})
    path = Path(path)
    path.write_text(html, encoding="utf-8")
    return path
