"""When the bytes of an HTTP/1.1 request read so far make a whole request.

The server (worker.py) reads each request in its event loop and hands it to a thread only
when `IncomingRequest.outcome()` says it is there: the head up to its blank line, then
the body its Content-Length announces, or a chunked body up to its last chunk and
trailers. This is not the parser that serves the request (gunicorn's is, from these same
bytes); it only has to find the end. A chunked body over the limit or with broken framing
is refused by the server itself (BODY_TOO_LARGE, BAD_CHUNKS): nothing of it reaches the
app, which would otherwise read a body cut at the limit as if it were whole; so is a
Content-Length over the limit (on a GET too, which the app would answer, ignoring the
body). Where it cannot find the end (a head it does not follow) it hands
over what it has and the connection closes after the answer: gunicorn's parser and the
app then refuse the request (400, 413) from those bytes, and the thread never waits on
the client, since it is given no more than was read here.
"""
import re
from dataclasses import dataclass

from gunicorn import util

MAX_HEAD_BYTES = 32 * 1024  # request line and headers; more is 431
HEAD_END = re.compile(rb"\n\r?\n")
HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")  # a chunk size; 16 digits is already past any limit
TRAILER = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t -~\x80-\xff]*")  # RFC 9110 5.1, 5.5
WHOLE, CUT, HEAD_TOO_LARGE = "whole", "cut", "head too large"  # outcomes; None: wait
BODY_TOO_LARGE, BAD_CHUNKS = "body too large", "bad chunks"     # chunked bodies refused


@dataclass
class Head:
    end: int                   # offset just past the blank line
    path: str = ""             # PATH_INFO, as gunicorn will give it to the app
    length: int | None = 0     # Content-Length of the body; None: chunked
    expects_continue: bool = False
    request_id: str = ""       # the client's X-Request-Id, for the server's own refusals
    followable: bool = True    # False: framing this module does not follow


class IncomingRequest:
    def __init__(self, max_body: int, data: bytes = b""):
        self.max_body = max_body
        self.data = bytearray(data)
        self.head: Head | None = None
        self._searched = 0          # where the next search for a blank line starts
        self._chunk_at = None       # offset of the next chunk-size line
        self._decoded = 0           # chunk data before _chunk_at

    def feed(self, data: bytes) -> None:
        self.data += data

    def outcome(self) -> str | None:
        """WHOLE, CUT (hand over and close after the answer), HEAD_TOO_LARGE, BODY_TOO_LARGE,
        BAD_CHUNKS, or None: wait."""
        if self.head is None:
            found = HEAD_END.search(self.data, self._searched)
            if found is None:
                self._searched = max(0, len(self.data) - 2)
                return HEAD_TOO_LARGE if len(self.data) > MAX_HEAD_BYTES else None
            if found.end() > MAX_HEAD_BYTES:
                return HEAD_TOO_LARGE
            self.head = read_head(bytes(self.data[:found.end()]))
        head = self.head
        if not head.followable:
            return CUT
        if head.length is not None:
            if head.length > self.max_body:
                return BODY_TOO_LARGE  # not waited for, whatever the method
            return WHOLE if len(self.data) - head.end >= head.length else None
        return self._chunked()

    def _chunked(self) -> str | None:
        """Follow chunk-size lines: BODY_TOO_LARGE once the body is over the limit,
        BAD_CHUNKS when a size line or a chunk's end is not what RFC 9112 7.1 says."""
        data, at = self.data, self._chunk_at or self.head.end
        while True:
            eol = data.find(b"\r\n", at)
            if eol < 0:
                return BAD_CHUNKS if len(data) - at > 1024 else self._over_limit(at, 0)
            size_text = bytes(data[at:eol]).split(b";", 1)[0].strip(b" \t")
            if not HEX.fullmatch(size_text):
                return BAD_CHUNKS
            size = int(size_text, 16)
            if size == 0:  # the last chunk: trailer lines, then an empty line
                end = data.find(b"\r\n\r\n", max(eol, self._searched))
                if end >= 0:
                    trailers = bytes(data[eol + 2:end]).split(b"\r\n") if end > eol else []
                    return WHOLE if all(TRAILER.fullmatch(t) for t in trailers) else BAD_CHUNKS
                self._searched = len(data) - 3
                if len(data) - eol > MAX_HEAD_BYTES:
                    return BODY_TOO_LARGE
                return self._over_limit(at, 0)
            following = eol + 2 + size + 2
            if len(data) < following:
                return self._over_limit(at, min(size, len(data) - eol - 2))
            if data[following - 2:following] != b"\r\n":
                return BAD_CHUNKS
            at, self._decoded = following, self._decoded + size
            if self._decoded > self.max_body:  # whole or not, the body is over the limit
                return BODY_TOO_LARGE

    def _over_limit(self, at: int, partial: int) -> str | None:
        self._chunk_at = at
        raw = len(self.data) - self.head.end
        over = self._decoded + partial > self.max_body or raw > 4 * self.max_body + 65536
        return BODY_TOO_LARGE if over else None


def read_head(head: bytes) -> Head:
    """What the server needs of a request's head: its framing, path and request id."""
    lines = head.split(b"\n")
    if lines and lines[0] in (b"", b"\r"):  # RFC 9112 2.2: one empty line may lead
        lines = lines[1:]
    parsed = Head(end=len(head))
    parts = lines[0].rstrip(b"\r").split(b" ") if lines else []
    if len(parts) != 3 or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
        parsed.followable = False
        return parsed
    try:
        target = parts[1].decode("latin-1")
        parsed.path = util.unquote_to_wsgi_str(util.split_request_uri(target).path or "")
    except ValueError:
        parsed.followable = False
    chunked = has_length = False
    for line in lines[1:]:
        line = line.rstrip(b"\r")
        if not line:
            continue
        name, colon, value = line.partition(b":")
        name, value = name.lower(), value.strip(b" \t")
        if not colon:
            parsed.followable = False
        elif name == b"content-length":
            parsed.followable &= value.isdigit() and not has_length
            parsed.length, has_length = int(value) if value.isdigit() else 0, True
        elif name == b"transfer-encoding":
            chunked = value.lower().split(b",")[-1].strip(b" \t") == b"chunked"
            parsed.followable &= chunked
        elif name == b"expect":
            parsed.expects_continue = (value.lower() == b"100-continue"
                                       and parts[2] == b"HTTP/1.1")
        elif name == b"x-request-id":
            parsed.request_id = value.decode("latin-1")
    if chunked:
        parsed.followable &= not has_length
        parsed.length = None
    return parsed
