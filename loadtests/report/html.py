"""report.html: one self-contained page (charts inlined as PNG data URIs, CSS inline, no
scripts, no network) that opens from a CI artifact or a laptop offline."""
import base64
from pathlib import Path

from jinja2 import Environment

from . import charts
from .fmt import milliseconds, percent, seconds, secs
from .headline import headline
from .main_chart import MIN_BUCKET_JOURNEYS
from .dynamics import dynamics_lines
from .guardrails import summary_lines
from .steps import failed_steps, idle_rules
from .summary import partial_note, verdict

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>banksim {{ r.scenario }} report</title>
<style>
 body { font: 15px/1.45 system-ui, sans-serif; max-width: 1150px; margin: 2em auto; color: #222;
        padding: 0 1em; }
 h1 { margin-bottom: .2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
 table { border-collapse: collapse; margin: .6em 0; font-size: 14px; }
 th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: right; }
 th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
 .pass { background: #dff3df; color: #1b5e20; font-weight: bold; }
 .fail { background: #fbdcdc; color: #b71c1c; font-weight: bold; }
 .verdict { display: inline-block; padding: .3em .8em; border-radius: 4px; }
 .muted { color: #666; } img { max-width: 100%; }
 .read { background: #f7f9fc; border-left: 4px solid #4292c6; padding: .6em 1em; }
 .headline { font-size: 18px; line-height: 1.4; margin: .4em 0 .6em; }
 .alarm { background: #fbdcdc; border-left: 4px solid #b71c1c; padding: .5em 1em; }
 .warn { background: #fff4d6; border-left: 4px solid #c77c02; padding: .5em 1em; }
 .partial { background: #fbdcdc; border: 2px solid #b71c1c; color: #b71c1c; padding: .6em 1em;
            font-size: 17px; }
</style></head><body>
<h1>banksim: {{ r.scenario }}{% if r.partial %} (partial run){% endif %}</h1>
{% if r.partial %}<p class="partial"><b>PARTIAL RUN.</b> {{ partial_note }}</p>
{% endif %}<p class="headline">{{ headline }}</p>
<p><span class="verdict {{ 'pass' if passed else 'fail' }}">{{ 'PASS' if passed else 'FAIL' }}</span>
{% for reason in reasons %} {{ reason }}{% if not loop.last %};{% endif %}{% endfor %}</p>
{% if failed_steps %}<div class="alarm" id="failed-steps"><b>{{ failed_steps|length }} call{{ 's' if failed_steps|length > 1 }} of the timeline failed: the incident did not run as the scenario says{{ ' (allowed by --allow-failed-steps)' if r.allow_failed_steps }}.</b>
<ul>{% for line in failed_steps %}<li>{{ line }}</li>{% endfor %}</ul></div>{% endif %}
{% if stop_lines %}<div class="{{ 'alarm' if r.aborted_by else 'warn' }}" id="guardrails"><b>Guardrails and preflight</b>
<ul>{% for line in stop_lines %}<li>{{ line }}</li>{% endfor %}</ul></div>{% endif %}
{% if dynamics %}<div id="dynamics"><b>Load and the client</b>
<ul>{% for line in dynamics %}<li>{{ line }}</li>{% endfor %}</ul></div>{% endif %}
{% if idle_rules %}<div class="warn" id="idle-rules"><b>Chaos rules that did nothing</b> (see <a href="#chaos-rules">chaos rules</a>):
<ul>{% for line in idle_rules %}<li>{{ line }}</li>{% endfor %}</ul></div>{% endif %}
<p class="muted">seed {{ r.seed }} &middot; {{ r.users }} users &middot; {{ r.duration_s|secs }} s
 &middot; client policy {{ r.client_policy }} &middot; SLO {{ r.slo|pct1 }} of journeys succeed
{%- if r.slo_p95_ms is not none %}, latency SLO p95 &le; {{ r.slo_p95_ms|ms }}{% endif %}
 &middot; phases: {% for p in r.phases %}{{ p.name }} {{ p.start_s|secs }}&ndash;{{ p.end_s|secs }} s{% if not loop.last %}, {% endif %}{% endfor %}</p>

<div class="read"><b>How to read this.</b> Each simulated user runs <i>journeys</i> in a mobile
app (open the app, send money, ...). A journey fails when any of its steps still fails after the
app's retries. The first chart shows, every {{ r.timeline_bucket_s|secs }} s, the share of journeys
that succeeded for each app version, over the phases of the release (grey bands):
{% for p in r.phases %}<b>{{ p.name }}</b> ({{ p.start_s|secs }}&ndash;{{ p.end_s|secs }} s){% if not loop.last %}, {% endif %}{% endfor %}.
{% if r.incident.bad_versions %}The version{{ 's' if r.incident.bad_versions|length > 1 }} the
incident hurt ({{ r.incident.bad_versions|join(', ') }}) {{ 'are' if r.incident.bad_versions|length > 1 else 'is' }}
the thick vermillion line, drawn on top; {% endif %}versions
that overlap (several at 100 %) are nested stripes: the widest line is the version with the most
journeys, each next one narrower on top of it. A marker's area grows with the journeys in its
bucket; a hollow marker is a bucket of fewer than {{ min_bucket }} journeys, left off the line (two
journeys can only read 0 %, 50 % or 100 %). The black line is what monitoring sees (all versions
together); the dashed vertical line is when a burn-rate alert on that line fired, the dash-dotted
one when the error rate got back under the SLO for good. The gap between the incident's start and
the alert is the time to detect.</div>

<h2>Journey success over time</h2>
<img alt="journey success rate over time per app version" src="data:image/png;base64,{{ img.main }}">

<h2>Incident</h2>
<table>
{% for label, value in incident_rows %}<tr><td>{{ label }}</td><td>{{ value }}</td></tr>
{% endfor %}</table>
<p class="muted">Detector: fires when the journey error rate burns the error budget
({{ (r.detector.error_budget * 100)|num }}% of journeys) more than {{ r.detector.burn_rate|num }}
times too fast over both a {{ r.detector.long_window_s|secs }} s and a
{{ r.detector.short_window_s|secs }} s window; recovered when the {{ r.detector.short_window_s|secs }} s
error rate is back within budget for {{ r.detector.hold_s|secs }} s and the alert does not fire
again. Alerts: {% for a in r.detector.alerts %}{{ a.fired_at_s|secs }}&ndash;{{ a.cleared_at_s|secs }} s{% if not loop.last %}, {% endif %}{% else %}none{% endfor %}
(false alarms before the incident: {{ r.detector.false_alarms }}). Users affected: distinct users
with at least one failed journey{% if r.slo_p95_ms is not none %}, or one slower than the latency
SLO ({{ r.slo_p95_ms|ms }}),{% endif %} during the incident or recovery phases.</p>
{% if r.incident.slo_checks %}<table><tr><th>app version</th><th>SLO</th><th>measured (incident and recovery)</th>
<th>objective</th><th>result</th></tr>
{% for c in r.incident.slo_checks %}<tr><td>{{ c.app_version }}</td><td>{{ c.objective }}</td>
<td>{{ c.value|pct if c.objective == 'success' else c.value|ms }}</td>
<td>{% if c.objective == 'success' %}&ge; {{ c.limit|pct1 }}{% else %}p95 &le; {{ c.limit|ms }}{% endif %}</td>
<td class="{{ 'fail' if c.breached else 'pass' }}">{{ 'breached' if c.breached else 'met' }}</td></tr>
{% endfor %}</table>{% endif %}

{% if r.alerts %}<h2 id="prometheus-alerts">Prometheus alerts</h2>
<table><tr><th>alert</th><th>labels</th><th>fired</th><th>first fired at</th><th>after the incident started</th>
<th>after banksim's detector</th><th>resolved at</th><th>firing for</th></tr>
{% for a in r.alerts %}<tr><td>{{ a.name }}</td><td>{% for k, v in a.labels|dictsort %}{{ k }}={{ v }}{% if not loop.last %}, {% endif %}{% endfor %}</td>
<td>{{ 'yes' if a.fired else 'no' }}</td><td>{{ a.first_fired_at_s|seconds }}</td>
<td>{{ a.since_incident_s|seconds }}</td><td>{{ a.since_detector_s|seconds }}</td>
<td>{{ a.resolved_at_s|seconds if a.resolved_at_s is not none else ('still firing at the end' if a.fired else '–') }}</td>
<td>{{ a.firing_s|seconds }}</td></tr>
{% endfor %}</table>
<p class="muted">What a real Prometheus, scraping the bank every second with the alert rules given to
<code>--prometheus</code>, alerted during the run (the bars along the bottom of the first chart); times
in seconds since the run started. A negative time after banksim's detector: Prometheus was faster.</p>{% endif %}

<h2>App versions</h2>
<table><tr><th>app version</th><th>users</th><th>journeys</th><th>failed</th><th>success rate</th>
<th>users hurt</th></tr>
{% for v in r.versions %}<tr><td>{{ v.app_version }}</td><td>{{ v.users }}</td><td>{{ v.journeys }}</td>
<td>{{ v.failed }}</td><td>{{ v.success_rate|pct }}</td><td>{{ v.users_affected }}</td></tr>
{% endfor %}</table>

<h2>App versions by platform</h2>
<table><tr><th>app version</th><th>platform</th><th>users</th><th>journeys</th><th>failed</th>
<th>success rate</th><th>p95</th>{% if r.slo_p95_ms is not none %}<th>slower than the latency SLO</th>{% endif %}
<th>users hurt</th></tr>
{% for v in r.platforms %}<tr><td>{{ v.app_version }}</td><td>{{ v.platform }}</td><td>{{ v.users }}</td>
<td>{{ v.journeys }}</td><td>{{ v.failed }}</td><td>{{ v.success_rate|pct }}</td><td>{{ v.p95_ms|ms }}</td>
{% if r.slo_p95_ms is not none %}<td>{{ v.slow }}</td>{% endif %}<td>{{ v.users_affected }}</td></tr>
{% endfor %}</table>
<p class="muted">Users hurt: users with at least one failed journey on that version and
platform{% if r.slo_p95_ms is not none %}, or one slower than the latency SLO{% endif %}.</p>

<h2>Thresholds</h2>
{% if r.thresholds %}<table><tr><th>threshold</th><th>limit</th><th>value</th><th>result</th></tr>
{% for t in r.thresholds %}<tr><td><code>{{ t.name }}</code></td><td>{{ t.limit }}</td>
<td>{{ t.value|num }}</td><td class="{{ 'pass' if t.passed else 'fail' }}">{{ 'PASS' if t.passed else 'FAIL' }}</td></tr>
{% endfor %}</table>{% else %}<p class="muted">No thresholds were set.</p>{% endif %}

{% if r.timeline_steps or r.chaos_rules %}<h2 id="chaos-rules">Timeline steps and chaos rules</h2>
<table><tr><th>step</th><th>at</th><th>phase</th><th>calls</th><th>outcome</th></tr>
{% for s in r.timeline_steps %}<tr><td>{{ s.step }}</td><td>{{ s.at_s|secs }} s</td><td>{{ s.phase or '' }}</td>
<td>{% for c in s.calls %}{{ c.call }}{% if c.note %} ({{ c.note }}){% endif %}{% if not loop.last %}; {% endif %}{% endfor %}</td>
<td class="{{ 'fail' if s.outcome == 'failed' else '' }}">{{ s.outcome }}</td></tr>
{% endfor %}</table>
{% if r.chaos_rules %}<table><tr><th>rule</th><th>step</th><th>preset</th><th>matched</th><th>injected</th><th>removed at</th></tr>
{% for c in r.chaos_rules %}<tr><td>{{ c.name }} <span class="muted">{{ c.id }}</span></td><td>{{ c.step or '' }}</td><td>{{ c.preset or '' }}</td>
<td{% if c.matched == 0 %} class="fail"{% endif %}>{{ c.matched|num }}</td><td{% if c.injected == 0 %} class="fail"{% endif %}>{{ c.injected|num }}</td>
<td>{{ (c.removed_at_s|secs ~ ' s') if c.removed_at_s is not none else '' }}</td></tr>
{% endfor %}</table>
<p class="muted">Requests each rule matched and faults it injected, at the end of the run or when
a step removed it (&ndash;: the rule was gone before it could be counted).</p>{% endif %}{% endif %}

<h2>Integrity</h2>
<table>{% for key, value in integrity_rows %}
<tr><td>{{ key }}</td><td{% if value is sameas true %} class="pass"{% elif value is sameas false %} class="fail"{% endif %}>{{ value|num }}</td></tr>
{% endfor %}</table>

<h2>Latency per journey and app version</h2>
<p class="muted">Every panel has the same duration scale, so bars compare across journeys.{% if r.slo_p95_ms is not none %}
The dashed vermillion line is the latency SLO: 95 % of journeys must finish within {{ r.slo_p95_ms|ms }}.{% endif %}</p>
<img alt="latency percentiles per journey and app version" src="data:image/png;base64,{{ img.latency }}">

<h2>Who was hurt</h2>
<img alt="failed journeys and affected users per app version" src="data:image/png;base64,{{ img.failures }}">

{% if r.failures %}<h2>How journeys failed</h2>
<table><tr><th>journey</th><th>platform</th><th>app version</th><th>network</th><th>failure</th><th>journeys</th></tr>
{% for f in r.failures[:30] %}<tr><td>{{ f.journey }}</td><td>{{ f.platform }}</td><td>{{ f.app_version }}</td>
<td>{{ f.network }}</td><td>{{ f.failure }}</td><td>{{ f.journeys|num }}</td></tr>
{% endfor %}</table>
<p class="muted">The failing step's last attempt: timeout_mid_body (the headers came, the rest
did not in time), truncated_body (the connection closed inside the body),
reset_before_answer (no byte at all: reset or closed, as offline), timeout_before_answer,
connect_failed, error_answer (an answer the app could not take).</p>
<table><tr><th>platform</th><th>network</th><th>journeys</th><th>failed</th><th>success rate</th></tr>
{% for n in r.networks %}<tr><td>{{ n.platform }}</td><td>{{ n.network }}</td><td>{{ n.journeys|num }}</td>
<td>{{ n.failed|num }}</td><td>{{ n.success|pct }}</td></tr>
{% endfor %}</table>{% endif %}

<h2>Retries and the client policy</h2>
<img alt="retries per journey by phase" src="data:image/png;base64,{{ img.retries }}">
<table><tr><th>phase</th><th>journeys</th><th>requests per journey</th><th>retries per journey</th>
<th>success rate</th></tr>
{% for name, c in policy_rows %}<tr><td>{{ name }}</td><td>{{ c.journeys }}</td><td>{{ c.requests_per_journey|num }}</td>
<td>{{ c.retries_per_journey|num }}</td><td>{{ c.success_rate|pct }}</td></tr>
{% endfor %}</table>

<h2>Every journey, version and phase</h2>
<details><summary>{{ r.journeys|length }} rows</summary>
<table><tr><th>journey</th><th>app version</th><th>phase</th><th>attempts</th><th>failed</th>
<th>retries</th><th>requests</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr>
{% for j in r.journeys %}<tr><td>{{ j.journey }}</td><td>{{ j.app_version }}</td><td>{{ j.phase }}</td>
<td>{{ j.attempts }}</td><td>{{ j.failed }}</td><td>{{ j.retries }}</td><td>{{ j.requests }}</td>
<td>{{ j.p50_ms|num }}</td><td>{{ j.p95_ms|num }}</td><td>{{ j.p99_ms|num }}</td></tr>
{% endfor %}</table></details>
</body></html>
"""

INCIDENT_ROWS = (("bad_versions", "versions that breached an SLO in the incident or recovery"),
                 ("incident_started_at_s", "incident started at"),
                 ("detected_at_s", "alert fired at"),
                 ("time_to_detect_s", "time to detect"),
                 ("hotfix_shipped_at_s", "hotfix shipped at"),
                 ("recovered_at_s", "error rate back under the SLO at"),
                 ("time_to_recover_s", "time to recover after the hotfix"),
                 ("users_affected", "users affected"),
                 ("users_affected_pct", "users affected (% of all users)"),
                 ("users_slowed", "users with a journey over the latency SLO"))


def _incident_cell(key: str, value) -> str:
    """A row of the incident table as text: times rounded, lists joined."""
    if key == "bad_versions":
        return ", ".join(value or ()) or "none"
    if key.endswith("_s"):
        return seconds(value)
    if key.endswith("_pct"):
        return "–" if value is None else f"{value:g} %"
    return _num(value)


def _num(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _pct(value) -> str:
    return "–" if value is None else f"{value:.2%}"


def _environment() -> Environment:
    env = Environment(autoescape=True, trim_blocks=False)
    env.filters["num"] = _num
    env.filters["pct"] = _pct
    env.filters["ms"] = milliseconds
    env.filters["pct1"] = percent
    env.filters["secs"] = secs
    env.filters["seconds"] = seconds
    return env


def render_html(report: dict) -> str:
    """The page as a string."""
    images = {name: base64.b64encode(draw(report)).decode("ascii") for name, draw in (
        ("main", charts.success_over_time), ("latency", charts.latency_percentiles),
        ("failures", charts.failures_by_version), ("retries", charts.retries_by_phase))}
    passed, reasons = verdict(report)
    incident = report.get("incident") or {}
    policy = report.get("policy") or {}
    policy_rows = [*(policy.get("by_phase") or {}).items()]
    if policy.get("overall"):
        policy_rows.append(("whole run", policy["overall"]))
    integrity_rows = []
    for key, value in (report.get("integrity") or {}).items():
        if isinstance(value, dict):  # e.g. reconcile's per-check audit results
            integrity_rows += [(f"{key}.{name}", inner) for name, inner in value.items()]
        else:
            integrity_rows.append((key, value))
    return _environment().from_string(PAGE).render(
        r=report, img=images, passed=passed, reasons=reasons, headline=headline(report),
        incident_rows=[(label, _incident_cell(key, incident.get(key)))
                       for key, label in INCIDENT_ROWS
                       if key != "users_slowed" or incident.get(key) is not None],
        partial_note=partial_note(report),
        policy_rows=policy_rows, integrity_rows=integrity_rows, min_bucket=MIN_BUCKET_JOURNEYS,
        failed_steps=failed_steps(report), idle_rules=idle_rules(report),
        stop_lines=summary_lines(report), dynamics=dynamics_lines(report))


def write_html(report: dict, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(render_html(report), encoding="utf-8")
    return path


def write_main_chart_png(report: dict, path: str | Path, dpi: int = 150) -> Path:
    """The main chart alone, e.g. for the README."""
    path = Path(path)
    path.write_bytes(charts.success_over_time(report, dpi=dpi))
    return path
