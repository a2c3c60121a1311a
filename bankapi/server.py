"""Run the bank under gunicorn, from Python, so `banksim serve` needs no extra tooling."""
from gunicorn.app.base import BaseApplication

from .worker import BufferedThreadWorker


class GunicornServer(BaseApplication):
    """gunicorn with banksim's settings; each worker builds its own app (and engine)."""

    def __init__(self, host: str, port: int, workers: int, threads: int = 8, factory=None,
                 access_log: bool = True):
        self.factory, self.access_log = factory, access_log
        self.options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            # gthread, but a request reaches a thread only once it has arrived whole
            "worker_class": BufferedThreadWorker,
            "threads": threads,
            # A `timeout` fault may hang a request for up to 60 s; don't kill the worker.
            "timeout": 90,
            "graceful_timeout": 5,
            "keepalive": 5,
            "accesslog": None,
            "child_exit": _child_exit,
        }
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        if self.factory is not None:
            return self.factory()
        from . import create_app
        from .webhooks import dispatcher
        app = create_app({"SERVER_THREADS": self.options["threads"],  # chaos keeps some free
                          "ACCESS_LOG": self.access_log, "WEBHOOK_DISPATCH": True,
                          "SETTLEMENT_WORKER": True})  # each worker settles (settler.py)
        dispatcher.start(app)  # in the worker: load() runs after the fork
        return app


def _child_exit(_server, worker):
    """Let /metrics forget a dead worker's live gauges (multiprocess mode)."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
