"""One signed POST of an event to a webhook URL, bounded in every direction.

- The host is resolved and checked again now (`domain.destinations.resolve`) and the
  connection goes to that checked address, so DNS cannot swap in a private one between
  the check and the connect. TLS still verifies the certificate against the host name.
- Redirects are not followed: a 3xx is a failed attempt, like any answer but 2xx.
- The whole attempt (connect, send, the answer's status and headers, at most
  MAX_ANSWER_BYTES of its body) has one deadline; at the deadline the socket is shut,
  so a receiver that trickles bytes cannot hold a dispatcher thread.

The signature is Stripe's scheme: `Banksim-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256(secret, "<t>.<body>")>` (docs/bank.md, "Webhooks", says how to verify it).
"""
import hashlib
import hmac
import http.client
import socket
import ssl
import threading
import time

from ..domain.destinations import Refused, parse, resolve

MAX_ANSWER_BYTES = 4096
SIGNATURE = "Banksim-Signature"


def signature(secret: str, body: bytes, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


class _Pinned(http.client.HTTPConnection):
    """HTTP to an address already checked, whatever the host name resolves to now."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = self.wire = socket.create_connection((self.address, self.port),
                                                         self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self):
        self.wire = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(self.wire, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict, timeout_s: float) -> tuple[int | None, str]:
    """(status, "") for an answer, (status or None, why) for a failure; never raises for
    the network's or the receiver's faults."""
    try:
        scheme, host, port, path = parse(url)
        address = resolve(host, port)
    except Refused as refused:
        return None, f"refused: {refused}"
    kind = _PinnedTLS if scheme == "https" else _Pinned
    connection = kind(host, port, address, timeout_s)
    deadline = threading.Timer(timeout_s, _shut, (connection,))
    deadline.daemon = True
    deadline.start()
    try:
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read(MAX_ANSWER_BYTES)
        status = answer.status
    except (OSError, http.client.HTTPException, ValueError) as error:
        status = None
        failure = f"{type(error).__name__}: {error}"[:200]
    else:
        failure = "" if 200 <= status < 300 else f"answered {status}"
    finally:
        deadline.cancel()
        connection.close()
    if getattr(connection, "cut_off", False):  # what arrived before the cut is not an answer
        return None, f"no complete answer within {timeout_s:g} s"
    return status, failure


def _shut(connection) -> None:
    """Shut the TCP socket itself: once the answer's headers say the connection will close,
    http.client lets go of `connection.sock` while the answer still reads from it."""
    connection.cut_off = True
    sock = getattr(connection, "wire", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
