"""The receiver on HTTP: a threaded server on a port of its own, started and stopped cleanly."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .receiver import MAX_BODY, Receiver

SIGNATURE = "Banksim-Signature"


class _Handler(BaseHTTPRequestHandler):
    server_version = "banksim-receiver"
    timeout = 10  # a client that trickles its request is cut off

    def do_POST(self):  # noqa: N802 - http.server's naming
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._answer(411, "Content-Length required")
        if not 0 <= length <= MAX_BODY:
            return self._answer(413, "too large")
        body = self.rfile.read(length)
        status, message = self.server.receiver.accept(self.headers.get(SIGNATURE, ""), body)
        self._answer(status, message)

    def _answer(self, status: int, message: str):
        payload = message.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_args):  # quiet: the JSON lines are the record
        pass


class ReceiverServer:
    """`Receiver` served on host:port (port 0: a free one) until `stop()`."""

    def __init__(self, receiver: Receiver, host: str = "127.0.0.1", port: int = 0):
        self.receiver = receiver
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.receiver = receiver
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}/"
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self.httpd.serve_forever, daemon=True),
                         threading.Thread(target=self._tick, daemon=True)]

    def start(self) -> "ReceiverServer":
        for thread in self._threads:
            thread.start()
        return self

    def _tick(self):
        while not self._stop.wait(0.2):
            self.receiver.tick()

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self.receiver.close()
