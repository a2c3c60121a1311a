"""The `banksim` command: each part lends its own commands, and this group collects them.

`bankapi` lends serve, audit and release; `seed` lends seed; `chaos` its chaos group;
`loadtests` scenarios, webhooks (the reference receiver), and incident, loadtest, compare
and report, which need the [load] extra (Locust, matplotlib). Without it they are still
listed, and say how to install it instead of failing on an import deep inside a run.

A command's module is imported only when that command is run (or `--help` lists them
all): `banksim chaos off` only talks HTTP and must not wait seconds for the bank's app,
SQLAlchemy and Locust to import on a busy machine.
"""
import importlib
import importlib.util

import click

# command name -> "module:attribute" of the click command that module lends
COMMANDS = {"serve": "bankapi.cli:serve", "audit": "bankapi.cli:audit",
            "release": "bankapi.cli:release", "clock": "bankapi.cli:clock",
            "seed": "seed.cli:seed", "chaos": "chaos.cli:chaos",
            "scenarios": "loadtests.scenario.cli:scenarios",
            "webhooks": "loadtests.receiver.cli:webhooks"}
LOAD_COMMANDS = ("incident", "loadtest", "compare", "report")
LOAD_EXTRA = ("locust", "matplotlib")


class LazyGroup(click.Group):
    """A group whose commands are imported when asked for by name."""

    def list_commands(self, ctx) -> list[str]:
        return sorted([*COMMANDS, *LOAD_COMMANDS])

    def get_command(self, ctx, name: str) -> click.Command | None:
        if name in COMMANDS:
            module, attribute = COMMANDS[name].split(":")
            return getattr(importlib.import_module(module), attribute)
        if name in LOAD_COMMANDS:
            return {command.name: command for command in _load_commands()}[name]
        return None


@click.group(cls=LazyGroup)
@click.version_option(package_name="banksim")
def main():
    """banksim: a digital bank to break, and a way to see what its users lived through."""


def _load_commands() -> tuple[click.Command, ...]:
    missing = [name for name in LOAD_EXTRA if importlib.util.find_spec(name) is None]
    if not missing:
        from loadtests.run.cli import compare, incident, loadtest, report
        return incident, loadtest, compare, report
    return tuple(_needs_load_extra(name, missing) for name in LOAD_COMMANDS)


def _needs_load_extra(name: str, missing: list[str]) -> click.Command:
    @click.command(name=name, context_settings={"ignore_unknown_options": True,
                                                "allow_extra_args": True})
    def command():
        raise click.ClickException(
            f"`banksim {name}` needs the load extra ({', '.join(missing)} not installed): "
            "pip install 'banksim[load]' (in a clone: pip install -e '.[load]')")
    command.help = "(needs the load extra: pip install 'banksim[load]')"
    return command
