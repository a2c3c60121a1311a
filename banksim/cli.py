"""The `banksim` command: each part lends its own commands, and this group collects them.

`bankapi` lends serve, audit and release; `seed` lends seed; `chaos` its chaos group;
`loadtests` scenarios, webhooks (the reference receiver), and incident, loadtest, compare
and report, which need the [load] extra (Locust, matplotlib). Without it they are still
listed, and say how to install it instead of failing on an import deep inside a run.
"""
import importlib.util

import click

from bankapi.cli import COMMANDS as BANK_COMMANDS
from chaos.cli import chaos
from loadtests.receiver.cli import webhooks
from loadtests.scenario.cli import scenarios
from seed.cli import seed

LOAD_EXTRA = ("locust", "matplotlib")


@click.group()
@click.version_option(package_name="banksim")
def main():
    """banksim: a digital bank to break, and a way to see what its users lived through."""


def _load_commands() -> tuple[click.Command, ...]:
    missing = [name for name in LOAD_EXTRA if importlib.util.find_spec(name) is None]
    if not missing:
        from loadtests.run.cli import compare, incident, loadtest, report
        return incident, loadtest, compare, report
    return tuple(_needs_load_extra(name, missing)
                 for name in ("incident", "loadtest", "compare", "report"))


def _needs_load_extra(name: str, missing: list[str]) -> click.Command:
    @click.command(name=name, context_settings={"ignore_unknown_options": True,
                                                "allow_extra_args": True})
    def command():
        raise click.ClickException(
            f"`banksim {name}` needs the load extra ({', '.join(missing)} not installed): "
            "pip install 'banksim[load]' (in a clone: pip install -e '.[load]')")
    command.help = "(needs the load extra: pip install 'banksim[load]')"
    return command


for _command in (*BANK_COMMANDS, seed, chaos, scenarios, webhooks, *_load_commands()):
    main.add_command(_command)
