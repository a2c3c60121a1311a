"""gunicorn's threaded worker, reading each request whole before a thread sees it.

gunicorn's gthread worker gives a connection a thread at its first byte and the thread
reads the rest with no deadline, so a few dozen clients that send half a request and
stop hold every thread, and nothing answers, /health and /admin included. Here the
worker's event loop (the one that accepts) reads every request itself, non-blocking:

- A connection may sit idle `keepalive` (5 s) before a request or between requests, then
  it is closed. A request must arrive whole within READ_DEADLINE_S of its first byte,
  else it is answered 408 and the connection closed; a head over
  incoming.MAX_HEAD_BYTES is answered 431, a chunked body over the limit 413 and one whose
  framing is broken 400. All in the bank's error envelope, and so are the refusals of
  gunicorn's own parser (`handle_error`: a request line or header over its limits, a
  header it cannot read), which gunicorn would answer with an HTML page.
- Only a whole request reaches a thread, and its parser is given exactly the bytes read
  (incoming.py says when they are whole): a thread never waits on a client. A body
  over the app's MAX_CONTENT_LENGTH is not waited for: the loop answers 413 and the
  connection closes.
- The paths chaos never touches (bankapi.ALWAYS_ANSWERED: /admin, /health, /metrics)
  run on RESERVED_THREADS threads of their own, so they never queue behind requests
  held in slow faults or slow requests of the bank's own.
- Load shedding, off by default: with MAX_IN_FLIGHT (BANKSIM_MAX_IN_FLIGHT) a worker keeps at
  most that many customer requests queued for or on its threads; one more is answered 503
  `service_unavailable` with Retry-After by the loop at once, before the app (so it shows
  in neither /metrics nor the access log): a fast no instead of a queue that outlives
  the clients' timeouts.
- A thread writes an answer with a deadline too (WRITE_DEADLINE_S per write): a client
  that stops reading loses its connection rather than keeping the thread.
- Kept-alive connections go back to the event loop between requests, and a connection
  is closed there too (FIN, then what the client still sends is read and dropped for
  up to CLOSE_LINGER_S), never with the loop waiting on the client.

What can go wrong: this leans on gthread's internals (TConn, enqueue_req,
finish_request, the run loop's murder_* calls), hence the pinned gunicorn range.
"""
import errno
import selectors
import socket
import time
from concurrent import futures
from functools import partial

from gunicorn import http
from gunicorn.http.unreader import Unreader
from gunicorn.workers import gthread

from chaos.middleware import covers, normal_path, path_prefixes

from . import ALWAYS_ANSWERED, arrival
from .incoming import BAD_CHUNKS, BODY_TOO_LARGE, CUT, HEAD_TOO_LARGE, WHOLE, IncomingRequest
from .web.errors import REQUEST_ID, error_body, new_request_id

READ_DEADLINE_S = 10.0     # a request arrives whole within this of its first byte
WRITE_DEADLINE_S = 10.0    # a client takes each write of its answer within this
RESERVED_THREADS = 4       # per worker, for ALWAYS_ANSWERED paths only
CLOSE_LINGER_S = 2.0       # after FIN, how long what the client still sends is dropped
CLOSE_DRAIN_BYTES = 64 * 1024
DEFAULT_MAX_BODY = 1024 * 1024  # when the app sets no MAX_CONTENT_LENGTH
RECV_BYTES = 64 * 1024
SWEEP_S = 0.2              # deadlines are checked at most this often (the loop wakes each 1 s)
REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large",
           414: "URI Too Long", 431: "Request Header Fields Too Large",
           503: "Service Unavailable"}
MESSAGES = {400: "the chunked body's framing is broken (RFC 9112 7.1)",
            408: f"the request did not arrive whole within {READ_DEADLINE_S:g} s",
            413: "the body is over the size limit",
            431: "the request line and headers are too large",
            503: "the server has as many requests in flight as it takes; retry later"}
SHED_RETRY_AFTER_S = 1  # what a request shed by the in-flight bound is told to wait
REFUSED = {HEAD_TOO_LARGE: 431, BODY_TOO_LARGE: 413, BAD_CHUNKS: 400}  # answered by the loop
E = http.errors  # gunicorn's parser errors that are the client's, and their statuses
PARSER_REFUSALS = {E.LimitRequestLine: 414, E.LimitRequestHeaders: 431, **dict.fromkeys((
    E.InvalidRequestLine, E.InvalidRequestMethod, E.InvalidHTTPVersion, E.InvalidHeader,
    E.InvalidHeaderName, E.ObsoleteFolding, E.InvalidSchemeHeaders, E.InvalidChunkSize,
    E.ChunkMissingTerminator, E.InvalidChunkExtension, E.InvalidProxyLine), 400)}


class Replay(Unreader):
    """What gunicorn's parser reads in a thread: the bytes the event loop read, then the
    end of the stream (never the socket)."""

    def __init__(self, data: bytes):
        super().__init__()
        self.buf.write(data)

    def chunk(self, size_hint=None) -> bytes:
        return b""


class BufferedThreadWorker(gthread.ThreadWorker):
    def init_process(self):
        self.reserved_pool = futures.ThreadPoolExecutor(RESERVED_THREADS)
        self.reading: set = set()  # connections whose request is being read
        self.closing: set = set()  # connections shut for writing, being drained
        self.next_sweep = 0.0
        self.in_flight = 0  # customer requests queued for or on a thread (load shedding)
        self.reserved_prefixes = path_prefixes(ALWAYS_ANSWERED)
        super().init_process()  # loads the app, then runs until the worker stops

    def run(self):
        config = getattr(self.wsgi, "config", None) or {}
        self.max_body = config.get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_BODY
        self.max_in_flight = config.get("MAX_IN_FLIGHT") or 0  # 0: no bound, no shedding
        try:
            super().run()
        finally:
            self.reserved_pool.shutdown(wait=False)

    def handle_quit(self, sig, frame):
        self.reserved_pool.shutdown(wait=False)
        super().handle_quit(sig, frame)

    # -- the event loop: accepting, reading, closing --------------------------------

    def accept(self, listener):
        try:
            sock, address = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = gthread.TConn(self.cfg, sock, address, listener.getsockname())
        conn.closed = False
        self.await_request(conn, b"")

    def await_request(self, conn, data: bytes) -> None:
        """Read the connection's next request (`data`: bytes of it already read)."""
        conn.incoming = IncomingRequest(self.max_body, data)
        conn.continued = conn.must_close = False
        idle = self.cfg.keepalive if self.alive else min(self.cfg.keepalive,
                                                         gthread.STOP_KEEPALIVE_LINGER)
        conn.deadline = time.monotonic() + (READ_DEADLINE_S if data else idle)
        try:
            conn.sock.setblocking(False)
            if data and self.advance(conn):
                return
            self.poller.register(conn.sock, selectors.EVENT_READ,
                                 partial(self.on_request_bytes, conn))
        except (OSError, ValueError):
            self.close_now(conn)
            return
        self.reading.add(conn)

    def on_request_bytes(self, conn, _sock) -> None:
        data = _received(conn.sock)
        if data is None:
            return
        if not data:  # the client went away
            self.stop_reading(conn)
            self.close_now(conn)
            return
        if not conn.incoming.data:
            conn.deadline = time.monotonic() + READ_DEADLINE_S
        conn.incoming.feed(data)
        self.advance(conn)

    def advance(self, conn) -> bool:
        """Hand the request to a thread if it is there; True when the loop is done with it."""
        outcome = conn.incoming.outcome()
        if outcome is None:
            head = conn.incoming.head
            if head is not None and head.expects_continue and not conn.continued:
                conn.continued = True
                send_quietly(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
            return False
        self.stop_reading(conn)
        if outcome in REFUSED:
            self.refuse(conn, REFUSED[outcome])
            return True
        conn.must_close = outcome == CUT
        head = conn.incoming.head
        conn.reserved = outcome == WHOLE and covers(self.reserved_prefixes,
                                                    normal_path(head.path))
        if not conn.reserved and 0 < self.max_in_flight <= self.in_flight:
            self.refuse(conn, 503)  # load shedding: a fast no rather than a slow queue
            return True
        self.enqueue_req(conn)
        return True

    def refuse(self, conn, status: int) -> None:
        head = conn.incoming.head
        request_id = head.request_id if head and REQUEST_ID.match(head.request_id) else ""
        send_quietly(conn.sock, refusal(status, MESSAGES[status], request_id))
        self.close(conn)

    def handle_error(self, req, client, addr, exc):
        """gunicorn's parser refused the request: the same status, in the bank's envelope
        (gunicorn answers an HTML page). Anything else is gunicorn's to log and answer."""
        status = PARSER_REFUSALS.get(type(exc))
        if status is None:
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        send_quietly(client, refusal(status, f"the request could not be read: {exc}"[:300]))

    def stop_reading(self, conn) -> None:
        if conn in self.reading:
            self.reading.discard(conn)
            self.unregister(conn)

    def close(self, conn) -> None:
        """FIN now; what the client still sends is dropped for a while, so that the
        kernel does not answer it with a reset that could destroy our last answer."""
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
            self.poller.register(conn.sock, selectors.EVENT_READ,
                                 partial(self.on_closing_bytes, conn))
        except (OSError, ValueError):
            self.close_now(conn)
            return
        conn.deadline, conn.drained = time.monotonic() + CLOSE_LINGER_S, 0
        self.closing.add(conn)

    def on_closing_bytes(self, conn, _sock) -> None:
        data = _received(conn.sock)
        if data is None:
            return
        conn.drained += len(data)
        if not data or conn.drained >= CLOSE_DRAIN_BYTES:
            self.close_now(conn)

    def close_now(self, conn) -> None:
        if conn in self.closing:
            self.closing.discard(conn)
            self.unregister(conn)
        if not conn.closed:
            conn.closed = True
            self.nr_conns -= 1
            conn.close()

    def unregister(self, conn) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, OSError, ValueError):
            pass

    def murder_pending(self):
        """gthread's own, then the deadlines of requests being read and of closings."""
        super().murder_pending()
        now = time.monotonic()
        if now < self.next_sweep:
            return
        self.next_sweep = now + SWEEP_S
        for conn in [conn for conn in self.reading if conn.deadline <= now]:
            if conn.incoming.data:
                self.stop_reading(conn)
                self.refuse(conn, 408)
            else:  # idle: nothing to answer
                self.stop_reading(conn)
                self.close_now(conn)
        for conn in [conn for conn in self.closing if conn.deadline <= now]:
            self.close_now(conn)

    def murder_keepalived(self, force=False):
        super().murder_keepalived(force)
        if force:  # the worker is stopping for good
            for conn in [*self.reading, *self.closing]:
                self.stop_reading(conn)
                self.close_now(conn)

    def _cap_keepalive(self, deadline):
        """A stopping worker keeps idle connections briefly (gthread's linger)."""
        super()._cap_keepalive(deadline)
        for conn in self.reading:
            if not conn.incoming.data:
                conn.deadline = min(conn.deadline, deadline)

    # -- threads ------------------------------------------------------------------------

    def enqueue_req(self, conn):
        conn.arrived_at = time.monotonic()  # whole; what waits for a thread starts here
        conn.in_flight = not getattr(conn, "reserved", False)
        self.in_flight += conn.in_flight
        pool = self.reserved_pool if getattr(conn, "reserved", False) else self.tpool
        future = pool.submit(self.handle, conn)
        future.add_done_callback(
            lambda done: self.method_queue.defer(self.finish_request, conn, done))

    def handle(self, conn):
        """gthread's handling, with the parser reading the bytes the loop read."""
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.initialized = True  # (gthread's init would wait for the socket itself)
        arrival.mark(getattr(conn, "arrived_at", None))
        conn.parser.unreader = Replay(bytes(conn.incoming.data))
        conn.incoming = None
        return super().handle(conn)

    def handle_request(self, req, conn):
        if conn.must_close:  # the request was cut short: no second one on this connection
            req.must_close = True
        if conn.continued:  # the loop already asked for the body
            req._expected_100_continue = False
        conn.sock.settimeout(WRITE_DEADLINE_S)
        try:
            return super().handle_request(req, conn)
        except TimeoutError:
            self.log.debug("client %s did not take its answer within %g s", conn.client,
                           WRITE_DEADLINE_S)
            return False

    def finish_request(self, conn, fs):
        """Back on the loop: read the next request, or close."""
        self.in_flight -= getattr(conn, "in_flight", False)
        conn.in_flight = False
        try:
            keep = not fs.cancelled() and bool(fs.result())
        except Exception:
            keep = False
        if keep and not conn.closed:
            self.await_request(conn, conn.parser.unreader.take_buffered())
        elif not conn.closed:
            self.close(conn)


def refusal(status: int, message: str, request_id: str = "") -> bytes:
    """A whole answer, in the bank's envelope, that the server gives before any view runs
    (the connection closes after it); a new request id unless the client's is given."""
    request_id = request_id or new_request_id()
    body = error_body(status, message, request_id)
    wait = f"Retry-After: {SHED_RETRY_AFTER_S}\r\n" if status == 503 else ""
    return (f"HTTP/1.1 {status} {REASONS[status]}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n{wait}"
            f"X-Request-Id: {request_id}\r\n\r\n").encode() + body


def send_quietly(sock, data: bytes) -> None:
    """Send a short answer without waiting; a client that cannot take it gets less."""
    try:
        sock.send(data)
    except OSError:
        pass


def _received(sock) -> bytes | None:
    """What a readable socket holds: b"" when the client went away (or the socket broke),
    None when nothing was there after all (a spurious wake-up)."""
    try:
        return sock.recv(RECV_BYTES)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""
