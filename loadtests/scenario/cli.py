"""`banksim scenarios`: list the built-ins, show one, validate a file (docs/scenarios.md).

Needs no Locust: a QA team can check a scenario on a machine that only has the bank.
"""
import sys

import click
from rich.console import Console
from rich.table import Table

from loadtests.scenario import ScenarioError, builtin_names, did_you_mean, load, read, to_yaml


@click.group(invoke_without_command=True)
@click.pass_context
def scenarios(ctx):
    """List the built-in incident scenarios (show NAME prints one, validate PATH checks one)."""
    if ctx.invoked_subcommand is not None:
        return
    table = Table("name", "description", "duration", "users", title="built-in scenarios")
    for name in builtin_names():
        scenario = load(name)
        table.add_row(name, scenario.description, f"{scenario.duration_s:g} s",
                      str(scenario.users))
    Console(width=max(100, Console().width)).print(table)


@scenarios.command()
@click.argument("name")
def show(name):
    """Print a built-in scenario's YAML (as its file has it)."""
    if name not in builtin_names():
        raise click.BadParameter(f"no built-in {name!r}; one of {', '.join(builtin_names())}"
                                 f"{did_you_mean(name)}", param_hint="NAME")
    _, path = read(name)
    with open(path, encoding="utf-8") as handle:
        click.echo(handle.read(), nl=False)


@scenarios.command()
@click.argument("path")
def validate(path):
    """Check a scenario file: exit 0, or 1 with one line per problem."""
    try:
        scenario = load(path)
    except ScenarioError as exc:
        for line in exc.problems:
            click.echo(line)
        sys.exit(1)
    click.echo(f"{path}: ok ({scenario.name}, {scenario.duration_s:g} s, "
               f"{len(scenario['timeline'])} steps)")


__all__ = ["scenarios", "to_yaml"]
