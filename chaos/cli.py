"""`banksim chaos ...`: drive the chaos admin API of a running server.

Talks HTTP only (BANKSIM_URL, BANKSIM_ADMIN_TOKEN, or --url/--token), so it works
against any process or host. Failures exit non-zero with the server's message.
"""
import json

import click
from rich.console import Console

from .client import AdminClient
from rich.table import Column, Table

from banksim import environment

console = Console()


@click.group()
@click.option("--url", envvar=environment.URL, default=environment.DEFAULT_URL, show_default=True,
              help="banksim server (env BANKSIM_URL)")
@click.option("--token", envvar=environment.ADMIN_TOKEN, default="",
              help="admin token (env BANKSIM_ADMIN_TOKEN)")
@click.pass_context
def chaos(ctx, url, token):
    """Fault injection: show, switch, add and remove chaos rules."""
    ctx.obj = AdminClient(url, token, prefix="/admin/chaos", url_from="BANKSIM_URL or --url",
                          token_from="BANKSIM_ADMIN_TOKEN or --token")


@chaos.command()
@click.pass_obj
def status(api):
    """Show whether chaos is on, and every rule with its counters."""
    body = api.call("GET", "")
    state = "[green]on[/]" if body["enabled"] else "[yellow]off (kill switch)[/]"
    console.print(f"chaos {state}, seed {body['seed']}, revision {body['revision']}")
    console.print(_header_faults_line(body.get("settings") or {}, body["enabled"]))
    print_rules(body["rules"])


def _header_faults_line(settings: dict, chaos_on: bool = True) -> str:
    allow = settings.get("allow") or {}
    if not settings.get("header_faults"):
        return "header faults off (X-Banksim-Fault is ignored)"
    who = [f"device {device}" for device in allow.get("devices", [])]
    who += [f"user {user}" for user in allow.get("users", [])]
    shown = ", ".join(who[:5]) + (f" and {len(who) - 5} more" if len(who) > 5 else "")
    line = f"header faults [green]on[/] for {shown or 'nobody yet'}"
    return line if chaos_on else line + " [yellow](idle: chaos is off)[/]"


@chaos.command("header-faults")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--device", "devices", multiple=True, metavar="ID",
              help="allow this X-Device-Id (repeat for more); added to those already allowed")
@click.option("--user", "users", multiple=True, metavar="ID",
              help="allow this user id (repeat for more)")
@click.pass_obj
def header_faults(api, state, devices, users):
    """Let allowed devices and users ask for faults with X-Banksim-Fault (on), or stop it
    and forget who was allowed (off)."""
    if state == "off":
        if devices or users:
            raise click.UsageError("`off` forgets every allowed device and user; "
                                   "it takes no --device or --user")
        settings = {"header_faults": False, "allow": {"devices": [], "users": []}}
    else:
        allow = api.call("GET", "/settings")["allow"]
        settings = {"header_faults": True, "allow": {
            "devices": _added(allow["devices"], devices), "users": _added(allow["users"], users)}}
    console.print(_header_faults_line(api.call("PUT", "/settings", json=settings)))
    if state == "on":
        _warn_if_switched_off(api)


def _added(known: list, more) -> list:
    return known + [item for item in dict.fromkeys(more) if item not in known]


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
    table = Table("preset", Column("description", overflow="fold"))
    for preset in api.call("GET", "/presets")["presets"]:
        table.add_row(preset["name"], preset["description"])
    print_whole(table)


@chaos.command()
@click.argument("name")
@click.pass_obj
def preset(api, name):
    """Add the rules of preset NAME."""
    added = api.call("POST", f"/presets/{name}")["rules"]
    console.print(f"added {len(added)} rule(s) from preset {name}")
    print_rules(added)
    _warn_if_switched_off(api)


@chaos.command()
@click.argument("file", type=click.File("r"))
@click.option("-q", "--quiet", is_flag=True,
              help="print only the new rule ids, one a line (RULE=$(banksim chaos add -q f))")
@click.pass_obj
def add(api, file, quiet):
    """Add the rule (or list of rules) in FILE, a JSON file or - for stdin."""
    try:
        loaded = json.load(file)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file.name} is not JSON: {exc}") from None
    added = [api.call("POST", "/rules", json=rule)
             for rule in (loaded if isinstance(loaded, list) else [loaded])]
    if quiet:
        click.echo("\n".join(rule["id"] for rule in added))
    else:
        print_rules(added)
    _warn_if_switched_off(api)


def _warn_if_switched_off(api) -> None:
    """A rule added while the kill switch is off never fires: say so (on stderr)."""
    if not api.call("GET", "")["enabled"]:
        click.echo("warning: chaos is off (kill switch), so no rule fires; "
                   "`banksim chaos on` turns it back on", err=True)


@chaos.command("enable")
@click.argument("rule_id")
@click.pass_obj
def enable_rule(api, rule_id):
    """Enable rule RULE_ID (it fires again while chaos is on)."""
    _set_rule_enabled(api, rule_id, True)
    _warn_if_switched_off(api)


@chaos.command("disable")
@click.argument("rule_id")
@click.pass_obj
def disable_rule(api, rule_id):
    """Disable rule RULE_ID (kept, with its counters; `enable` brings it back)."""
    _set_rule_enabled(api, rule_id, False)


def _set_rule_enabled(api, rule_id: str, enabled: bool) -> None:
    rule = api.call("PATCH", f"/rules/{rule_id}", json={"enabled": enabled})
    console.print(f"{'enabled' if enabled else 'disabled'} {rule['id']} ({rule['name']})")


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
    table = Table(*(Column(name, overflow="fold") for name in (
        "at", "rule", "fault", "phase", "request", "app", "user / device")))
    for e in api.call("GET", "/events", params={"limit": limit})["events"]:
        table.add_row(e["at"], e["rule_id"], e["fault"], e["phase"],
                      f"{e['method']} {e['path']}",
                      f"{e['app_version'] or '-'} {e['platform'] or '-'}", _who(e))
    print_whole(table)


def print_whole(table: Table) -> None:
    """A table with nothing dropped or cut: at a terminal its cells fold to the width (no
    column goes, no "…"); into a file or a pipe at its natural width, one line a row."""
    if console.is_terminal:
        console.print(table)
        return
    wide = console.options.update_width(10_000)
    width = max(console.measure(table, options=wide).maximum, console.width)
    Console(file=console.file, width=width, no_color=console.no_color).print(table)


def _who(event: dict) -> str:
    """The user, else the device (X-Device-Id): what the cohort hash keys a request by."""
    return event.get("user_id") or event.get("device_id") or "-"


def print_rules(rules: list[dict]) -> None:
    if not rules:
        console.print("no rules")
        return
    # At a terminal the id keeps its 21 characters on one line (it is copied into `rm`)
    # and the name folds under it; the counters share a column: every column fits in 80.
    table = Table(Column("id / name", overflow="fold",
                         width=21 if console.is_terminal else None),
                  *(Column(name, overflow="fold") for name in ("aimed at", "fault", "when")),
                  Column("injected / matched", justify="right", overflow="fold"))
    for rule in rules:
        state = "" if rule["enabled"] else " [yellow](disabled)[/]"
        table.add_row(f"{rule['id']}\n[dim]{rule['name']}[/]{state}", _target(rule["match"]),
                      f"{_brief(rule['fault'])}\n{rule['phase']}", _when(rule),
                      f"{rule['stats']['injected']} / {rule['stats']['matched']}")
    print_whole(table)


def _target(match: dict) -> str:
    parts = [f"app {match['app_version']}" if match.get("app_version") else "any version"]
    if match.get("platform"):
        parts.append("/".join(match["platform"]))
    if match.get("methods") or match.get("path"):
        parts.append(f"{','.join(match.get('methods') or ['*'])} {match.get('path') or '*'}")
    if match.get("cohort_percent", 100) < 100:
        name = f" ({match['cohort']})" if match.get("cohort") else ""
        parts.append(f"{match['cohort_percent']:g}% of users{name}")
    if match.get("users"):
        parts.append(f"{len(match['users'])} user(s)")
    if match.get("devices"):
        parts.append(f"{len(match['devices'])} device(s)")
    for name, value in (match.get("headers") or {}).items():
        parts.append(f"{name}: {value}")
    return "\n".join(parts)


def _when(rule: dict) -> str:
    pattern = rule["pattern"]
    text = f"p={rule['probability']:g}"
    if pattern.get("type") == "burst":
        text += f"\nburst {pattern['on_s']:g}s on/{pattern['off_s']:g}s off"
    if rule.get("ttl_s"):
        text += f"\nttl {rule['ttl_s']:g}s"
    return text


def _brief(fault: dict) -> str:
    settings = " ".join(f"{k}={v}" for k, v in fault.items() if k != "type")
    return f"{fault.get('type', '?')} {settings}".strip()
