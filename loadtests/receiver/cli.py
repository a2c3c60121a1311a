"""`banksim webhooks listen`: the reference receiver on a port, until Ctrl-C or SIGTERM."""
import json
import signal
import threading
from pathlib import Path

import click

from .receiver import Receiver
from .server import ReceiverServer


@click.group()
def webhooks():
    """Receive the bank's webhooks."""


@webhooks.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--secret", envvar="BANKSIM_WEBHOOK_SECRET", required=True,
              help="the webhook's secret (POST /webhooks answered it) [env: "
                   "BANKSIM_WEBHOOK_SECRET]")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("webhooks.jsonl"), show_default=True,
              help="where each effective event is written, one JSON line each")
def listen(host, port, secret, out):
    """Verify, dedupe and re-order the bank's webhook deliveries; write them as JSON lines.

    \b
    Bad or stale signatures answer 400 and are counted; an event id seen before answers
    200 (so the bank stops retrying) and counts as a duplicate. Stops on Ctrl-C or
    SIGTERM and prints its counts as JSON."""
    try:
        receiver = Receiver(secret, out)
    except OSError as error:
        raise click.ClickException(f"cannot write {out}: {error.strerror or error}") from None
    try:
        server = ReceiverServer(receiver, host, port).start()
    except OSError as error:
        receiver.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: "
                                   f"{error.strerror or error}") from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"receiving webhooks on {server.url}, writing {out}", err=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    click.echo(json.dumps(server.receiver.summary()))
