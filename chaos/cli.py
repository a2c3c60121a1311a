"""`banksim chaos ...`: drive the chaos admin API of a running server.

Talks HTTP only (BANKSIM_URL, BANKSIM_ADMIN_TOKEN, or --url/--token), so it works
against any process or host. Failures exit non-zero with the server's message.
"""
import json

import click
import requests
from rich.console import Console
from rich.table import Table

console = Console()


class AdminAPI:
    """A thin requests client that turns HTTP failures into click errors."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url.rstrip("/"), token

    def call(self, method: str, path: str, **kwargs):
        try:
            response = requests.request(method, f"{self.url}/admin/chaos{path}", timeout=10,
                                        headers={"Authorization": f"Bearer {self.token}"},
                                        **kwargs)
        except requests.RequestException as exc:
            raise click.ClickException(f"cannot reach banksim at {self.url}: "
                                       f"{type(exc).__name__}") from None
        body = _json(response)
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            message = error.get("message") or response.text[:200] or response.reason
            raise click.ClickException(f"{response.status_code} "
                                       f"{error.get('code', 'error')}: {message}")
        return body


def _json(response):
    try:
        return response.json() if response.content else {}
    except ValueError:
        return {}


@click.group()
@click.option("--url", envvar="BANKSIM_URL", default="http://127.0.0.1:8000", show_default=True,
              help="banksim server (env BANKSIM_URL)")
@click.option("--token", envvar="BANKSIM_ADMIN_TOKEN", default="",
              help="admin token (env BANKSIM_ADMIN_TOKEN)")
@click.pass_context
def chaos(ctx, url, token):
    """Fault injection: show, switch, add and remove chaos rules."""
    ctx.obj = AdminAPI(url, token)


@chaos.command()
@click.pass_obj
def status(api):
    """Show whether chaos is on, and every rule with its counters."""
    body = api.call("GET", "")
    state = "[green]on[/]" if body["enabled"] else "[yellow]off (kill switch)[/]"
    console.print(f"chaos {state}, seed {body['seed']}, revision {body['revision']}")
    print_rules(body["rules"])


@chaos.command()
@click.pass_obj
def on(api):
    """Turn chaos on (rules are kept)."""
    api.call("POST", "/enable")
    console.print("chaos [green]on[/]")


@chaos.command()
@click.pass_obj
def off(api):
    """Kill switch: stop injecting faults (rules are kept)."""
    api.call("POST", "/disable")
    console.print("chaos [yellow]off[/]")


@chaos.command()
@click.pass_obj
def presets(api):
    """List the presets."""
    table = Table("preset", "description")
    for preset in api.call("GET", "/presets")["presets"]:
        table.add_row(preset["name"], preset["description"])
    console.print(table)


@chaos.command()
@click.argument("name")
@click.pass_obj
def preset(api, name):
    """Add the rules of preset NAME."""
    added = api.call("POST", f"/presets/{name}")["rules"]
    console.print(f"added {len(added)} rule(s) from preset {name}")
    print_rules(added)


@chaos.command()
@click.argument("file", type=click.File("r"))
@click.pass_obj
def add(api, file):
    """Add the rule (or list of rules) in FILE, a JSON file or - for stdin."""
    try:
        loaded = json.load(file)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file.name} is not JSON: {exc}") from None
    added = [api.call("POST", "/rules", json=rule)
             for rule in (loaded if isinstance(loaded, list) else [loaded])]
    print_rules(added)


@chaos.command()
@click.argument("rule_id")
@click.pass_obj
def rm(api, rule_id):
    """Remove rule RULE_ID."""
    api.call("DELETE", f"/rules/{rule_id}")
    console.print(f"removed {rule_id}")


@chaos.command()
@click.pass_obj
def clear(api):
    """Remove every rule."""
    api.call("DELETE", "/rules")
    console.print("removed every rule")


@chaos.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.pass_obj
def events(api, limit):
    """Show the most recently injected faults."""
    table = Table("at", "rule", "fault", "phase", "request", "app", "user")
    for e in api.call("GET", "/events", params={"limit": limit})["events"]:
        table.add_row(e["at"], e["rule_id"], e["fault"], e["phase"],
                      f"{e['method']} {e['path']}",
                      f"{e['app_version'] or '-'} {e['platform'] or '-'}", e["user_id"] or "-")
    console.print(table)


def print_rules(rules: list[dict]) -> None:
    table = Table("id", "name", "on", "match", "fault", "phase", "p", "pattern",
                  "matched", "injected")
    for rule in rules:
        table.add_row(rule["id"], rule["name"], "yes" if rule["enabled"] else "no",
                      _brief(rule["match"]), _brief(rule["fault"]), rule["phase"],
                      f"{rule['probability']:g}", _brief(rule["pattern"]),
                      str(rule["stats"]["matched"]), str(rule["stats"]["injected"]))
    console.print(table if rules else "no rules")


def _brief(obj: dict) -> str:
    return " ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                    for k, v in obj.items()) or "any"
