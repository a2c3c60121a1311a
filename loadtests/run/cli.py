"""`banksim incident` and `banksim loadtest` (attached to the `banksim` command)."""
import datetime
import re
import subprocess
import sys
from pathlib import Path

import click

from loadtests.run.bank import check_port
from loadtests.run.incident import LOCUSTFILE, IncidentSettings, run_incident
from loadtests.run.database_guard import RunDatabase, RunRefused
from loadtests.phone.retry import POLICIES
from loadtests.scenario import DEFAULT, ScenarioError

from banksim import environment

POLICY_NAMES = list(POLICIES)

DURATION = re.compile(r"^(\d+)\s*(s|m|min)?$")


def duration_option(_ctx, _param, value: str | None) -> int | None:
    """Click callback: errors name --duration (click adds the option's name)."""
    return None if value is None else parse_duration(value)


def parse_duration(value: str) -> int:
    match = DURATION.match(str(value).strip())
    if not match:
        raise click.BadParameter("use seconds, e.g. 180s, 90 or 3m")
    seconds = int(match.group(1)) * (60 if match.group(2) in ("m", "min") else 1)
    if not 10 <= seconds <= 3600:
        raise click.BadParameter("between 10 s and one hour")
    return seconds


RESET_DATABASE = click.option(
    "--reset-database", is_flag=True,
    help="let the run reset BANKSIM_DATABASE_URL although it holds data no earlier run left "
         "there (without it such a database is refused; an empty one, or an earlier run's, "
         "is reset anyway)")
PROMETHEUS = click.option(
    "--prometheus", is_flag=True,
    help="run a real Prometheus (the `prometheus` binary on PATH, Debian's prometheus "
         "package) on 127.0.0.1 scraping the bank every second with the shipped alert rules "
         "(deploy/alerts.yml); report.json gains `alerts`")
ALERT_RULES = click.option(
    "--alert-rules", multiple=True, metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="your own Prometheus rules file instead of the shipped ones; promtool must accept "
         "it (implies --prometheus; repeatable)")
ALERT_SPEEDUP = click.option(
    "--alert-speedup", type=click.FloatRange(1, 100_000), metavar="N",
    help="divide every window, offset and `for:` of the rules by N for a short run, e.g. 60: "
         "an hour's window becomes a minute (implies --prometheus) [default: 1]")


def alerting_of(prometheus: bool, files: tuple, speedup: float | None, thresholds=()):
    """The checked alert rules of a run (None without Prometheus); exits 2 when a rules
    file, the binaries or an `alert[NAME]` threshold cannot work, before anything starts."""
    from loadtests.report import parse_threshold
    from loadtests.run.alert_rules import prepare
    wanted = {t.metric.removeprefix("alert[").removesuffix("]")
              for t in map(parse_threshold, thresholds) if t.metric.startswith("alert[")}
    if not (prometheus or files or speedup):
        if wanted:
            raise click.BadParameter(f"alert[{sorted(wanted)[0]}] needs --prometheus",
                                     param_hint="--threshold")
        return None
    try:
        rules = prepare(list(files), speedup or 1.0)
    except RunRefused as exc:
        refused(exc)
    unknown = sorted(wanted - set(rules.alert_names))
    if unknown:
        raise click.BadParameter(
            f"no alerting rule {unknown[0]!r} in {rules.describe()}; its alerts: "
            f"{', '.join(rules.alert_names) or 'none'}", param_hint="--threshold")
    return rules


PORT = click.option("--port", type=click.IntRange(1, 65535),
                    help="the bank's port on 127.0.0.1 [default: a free one]")


LOG_WIDTH = 1000  # columns a table may take in a file: as wide as its cells, never cut


def output_console():
    """Where a run writes: a terminal's own width there; into a file or a pipe (a CI log)
    long lines stay whole, so a report's path is never split mid-name, and tables are as
    wide as their cells (they never grow wider than those)."""
    from rich.console import Console
    console = Console()
    return console if console.is_terminal else Console(soft_wrap=True, width=LOG_WIDTH)


def refused(exc: RunRefused):
    """A run refused before it started: exit 2, like a usage error (nothing was written)."""
    click.echo(f"Error: {exc}", err=True)
    sys.exit(2)


def parse_think(value: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in value.split("-"))
    except ValueError:
        raise click.BadParameter("use MIN-MAX seconds, e.g. 1-4") from None
    if not 0 <= low <= high <= 60:
        raise click.BadParameter("need 0 <= MIN <= MAX <= 60")
    return low, high


@click.command()
@click.option("--scenario", default=DEFAULT, show_default=True, metavar="NAME|PATH",
              help="a built-in (`banksim scenarios` lists them) or a scenario YAML file; "
                   "the options below override the file's values")
@click.option("--users", type=click.IntRange(1, 2000),
              help="simulated mobile users (and seeded customers) [scenario's: 60]")
@click.option("--duration", callback=duration_option,
              help="e.g. 180s or 3m; at least 10 s, and about 60 s before the incident "
                   "shows (users must open the app while the bad release is out) "
                   "[scenario's: 180s]")
@click.option("--seed", envvar=environment.SEED, type=int, default=environment.DEFAULT_SEED,
              show_default=True)
@click.option("--client", "--client-policy", "client_policy", type=click.Choice(POLICY_NAMES),
              help="the app's client policy (timeout, retries, backoff, budget, breaker; "
                   "docs/scenarios.md) [scenario's: backoff]")
@click.option("--load-model", type=click.Choice(["closed", "open"]),
              help="closed: each phone thinks between journeys; open: journeys start at "
                   "--rate a second on free phones, arrivals finding none are dropped "
                   "[scenario's: closed]")
@click.option("--rate", type=click.FloatRange(0, 1000, min_open=True),
              help="the open model's journeys a second (implies --load-model open) "
                   "[scenario's]")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="report directory [default: reports/<timestamp>]")
@click.option("--threshold", "thresholds", multiple=True, metavar="EXPR",
              help="e.g. 'success_rate[app_version=4.1.*,phase=incident]>=0.99' (repeatable)")
@click.option("--slo", type=click.FloatRange(0.5, 0.9999),
              help="journey success objective the detector burns against [scenario's: 0.99]")
@click.option("--workers", type=click.IntRange(1, 16),
              help="gunicorn workers for the bank [default: the scenario's bank.workers, "
                   "else 2]")
@click.option("--adoption", type=click.FloatRange(0, 1),
              help="chance an app installs a newer (not required) release when opened, for "
                   "every release [scenario's: 0.35]")
@click.option("--think", metavar="MIN-MAX",
              help="seconds a user waits between journeys [scenario's: 1-4]")
@click.option("--allow-failed-steps", is_flag=True,
              help="a timeline step the bank refuses (its incident not injected as written) "
                   "is reported but does not fail the run")
@PROMETHEUS
@ALERT_RULES
@ALERT_SPEEDUP
@PORT
@RESET_DATABASE
def incident(scenario, users, duration, seed, client_policy, load_model, rate, out, thresholds,
             slo, workers, adoption, think, allow_failed_steps, prometheus, alert_rules,
             alert_speedup, port, reset_database):
    """Replay an incident scenario against a fresh bank and report what users lived through."""
    from loadtests.report import parse_threshold
    if load_model == "closed" and rate is not None:  # as `load: {model: closed, rate}` is
        raise click.BadParameter("--rate is the open model's; with --load-model closed the "
                                 "phones think between journeys instead", param_hint="--rate")
    for expression in thresholds:
        try:
            parse_threshold(expression)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--threshold") from None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    settings = IncidentSettings(
        scenario=scenario, users=users, duration_s=duration, seed=seed,
        client_policy=client_policy, load_model=load_model, rate=rate,
        out_dir=out or Path("reports") / stamp,
        thresholds=list(thresholds), database_url=environment.database_url(),
        slo=slo, workers=workers, adoption=adoption,
        think_s=parse_think(think) if think else None, allow_failed_steps=allow_failed_steps,
        port=port, reset_database=reset_database)
    try:
        run_s = settings.scenario_of().duration_s
    except ScenarioError as exc:
        raise click.BadParameter(
            "\n".join([exc.source, *exc.problems]), param_hint="--scenario") from None
    for expression in thresholds:
        window = parse_threshold(expression).window_s
        if window is not None and window > run_s:
            raise click.BadParameter(f"{expression!r}: a window of {window:g} s is longer than "
                                     f"the run's {run_s:g} s", param_hint="--threshold")
    settings.prometheus = alerting_of(prometheus, alert_rules, alert_speedup,
                                      [*thresholds, *settings.scenario_of().thresholds])
    try:
        code = run_incident(settings, console=output_console())
    except RunRefused as exc:
        refused(exc)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    sys.exit(code)


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                 "help_option_names": []})
@click.argument("locust_args", nargs=-1, type=click.UNPROCESSED)
def loadtest(locust_args):
    """Run Locust with banksim's locustfile against BANKSIM_URL (locust's options pass through)."""
    args = list(locust_args)
    if "--help" in args or "-h" in args:
        sys.exit(_loadtest_help())
    if not any(a == "--host" or a.startswith("--host=") or a == "-H" for a in args):
        args += ["--host", environment.url()]
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args]
    sys.exit(subprocess.call(command))


LOADTEST_HELP = """\
Usage: banksim loadtest [LOCUST OPTIONS]

  Run Locust with banksim's packaged locustfile, {locustfile}:
  simulated customers of the bank's mobile app (log in, open the app, send money, pay,
  check budgets) against BANKSIM_URL (default http://127.0.0.1:8000) unless you give
  --host. Every argument goes to Locust unchanged; the web UI is on :8089 unless you
  add --headless. `banksim incident` runs the whole replay (seed, bank, Locust, report).

  Example:
    banksim loadtest --headless -u 50 -r 10 -t 3m --scenario bad-release

banksim's options (the locustfile adds them to Locust's):
{options}

Locust's own options follow.
"""

# Locust's --help never lists a locustfile's own options (it answers before loading the
# file), so a subprocess (locust monkey-patches whoever imports it) builds them here.
_OPTIONS_HELP = """\
import argparse
from locust.argument_parser import LocustArgumentParser
from loadtests.phone.locustfile import add_arguments
parser = LocustArgumentParser(add_help=False, usage=argparse.SUPPRESS)
add_arguments(parser)
print(parser.format_help().partition("\\n")[2])
"""


def _loadtest_help() -> int:
    options = subprocess.run([sys.executable, "-c", _OPTIONS_HELP], capture_output=True,
                             text=True)
    click.echo(LOADTEST_HELP.format(locustfile=LOCUSTFILE, options=options.stdout.rstrip()))
    return subprocess.call([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--help"])


@click.command()
@click.option("--scenario", default=DEFAULT, show_default=True, metavar="NAME|PATH",
              help="a built-in (`banksim scenarios` lists them) or a scenario YAML file")
@click.option("--vary", "varies", multiple=True, required=True, metavar="KEY=V1,V2[,...]",
              help="a choice to compare: client (none, naive, backoff, budgeted, breaker; "
                   "client_policy is a synonym), halt_on_alert (true, false), adoption (0-1), "
                   "users, think (MIN-MAX), rollout (the first percent offered of every "
                   "release the timeline publishes), load_model (closed, open), rate (the "
                   "open model's journeys a second); several --vary make every combination")
@click.option("--repeat", type=click.IntRange(1, 20), default=1, show_default=True,
              help="runs per variant, with seeds S, S+1, ... (the spread of each figure)")
@click.option("--users", type=click.IntRange(1, 2000), help="[scenario's: 60]")
@click.option("--duration", callback=duration_option, help="of each run [scenario's: 180s]")
@click.option("--seed", envvar=environment.SEED, type=int, default=environment.DEFAULT_SEED,
              show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="directory for compare.json, compare.html and every run's report "
                   "[default: reports/compare-<timestamp>]")
@click.option("--workers", type=click.IntRange(1, 16),
              help="gunicorn workers for the bank [default: the scenario's bank.workers, "
                   "else 2]")
@PROMETHEUS
@ALERT_RULES
@ALERT_SPEEDUP
@PORT
@RESET_DATABASE
def compare(scenario, varies, repeat, users, duration, seed, out, workers, prometheus,
            alert_rules, alert_speedup, port, reset_database):
    """Run a scenario under several choices, one run after another, and compare them."""
    from loadtests.compare import run_comparison
    from loadtests.compare.plan import Plan, parse_varies
    try:
        parsed = parse_varies(list(varies))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--vary") from None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    plan = Plan(scenario=scenario, seed=seed, repeat=repeat,
                out=out or Path("reports") / f"compare-{stamp}", varies=parsed,
                base={"users": users, "duration_s": duration, "workers": workers,
                      "database_url": environment.database_url(), "port": port,
                      "reset_database": reset_database})
    try:
        scenarios = [plan.settings(run).scenario_of()  # every variant is a valid scenario
                     for run in plan.runs()[:len(plan.variants())]]
    except ScenarioError as exc:
        raise click.BadParameter(
            "\n".join([exc.source, *exc.problems]), param_hint="--scenario") from None
    plan.base["prometheus"] = alerting_of(prometheus, alert_rules, alert_speedup,
                                          scenarios[0].thresholds)
    try:  # every run resets the one database: refused, none starts
        if plan.base["database_url"]:
            RunDatabase(plan.base["database_url"]).check(reset_database)
        if port:
            check_port(port)
    except RunRefused as exc:
        refused(exc)
    sys.exit(run_comparison(plan, console=output_console()))


@click.command()
@click.argument("run_dir", metavar="DIR",
                type=click.Path(exists=True, file_okay=False, path_type=Path))
def report(run_dir):
    """Build report.json and report.html again from a run directory's raw files."""
    from loadtests.report import print_summary, verdict, write_report
    from loadtests.run.rundir import rebuild
    try:
        built = rebuild(run_dir)
    except ValueError as exc:  # not a run directory, or a damaged raw file
        raise click.BadParameter(str(exc), param_hint="DIR") from None
    try:
        write_report(built, run_dir)
    except OSError as exc:
        raise click.ClickException(f"cannot write the report into {run_dir}: {exc}") from None
    console = output_console()
    print_summary(built, console=console)
    console.print(f"report: {(run_dir / 'report.html').resolve()}")
    sys.exit(0 if verdict(built)[0] else 1)
