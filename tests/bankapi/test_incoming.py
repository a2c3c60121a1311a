"""Where the server's event loop decides a request has arrived whole (bankapi/incoming.py)."""
import pytest

from bankapi.incoming import (BAD_CHUNKS, BODY_TOO_LARGE, CUT, HEAD_TOO_LARGE, WHOLE,
                              IncomingRequest, read_head)

GET = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
POST = b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
CHUNKED = b"POST /auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"


def outcome(data: bytes, max_body: int = 100) -> str | None:
    return IncomingRequest(max_body, data).outcome()


@pytest.mark.parametrize("data, expected", [
    (GET[:-2], None),
    (GET, WHOLE),
    (b"\r\n" + GET, WHOLE),                       # one leading empty line is allowed
    (POST + b"abcd", None),
    (POST + b"abcde", WHOLE),
    (POST + b"abcde" + GET, WHOLE),               # pipelined: the rest waits its turn
    (CHUNKED + b"3\r\nabc\r\n", None),
    (CHUNKED + b"3\r\nabc\r\n0\r\n", None),
    (CHUNKED + b"3;ext=1\r\nabc\r\n0\r\n\r\n", WHOLE),
    (CHUNKED + b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n", WHOLE),
    (CHUNKED + b"zz\r\nabc\r\n", BAD_CHUNKS),     # the server answers 400
    (CHUNKED + b"-5\r\nhello\r\n0\r\n\r\n", BAD_CHUNKS),
    (CHUNKED + b"3\r\nabcdef", BAD_CHUNKS),       # no CRLF after the chunk
    (CHUNKED + b"2\r\n{}\r\n0\r\nbad trailer\r\n\r\n", BAD_CHUNKS),
    (CHUNKED + b"80\r\n" + b"a" * 101, BODY_TOO_LARGE),  # over the limit: the server answers 413
    # whole, and over the limit: refused, never handed to the app cut at the limit
    (CHUNKED + b"40\r\n" + b"a" * 64 + b"\r\n40\r\n" + b"a" * 64 + b"\r\n0\r\n\r\n",
     BODY_TOO_LARGE),
    (POST.replace(b"5", b"101"), BODY_TOO_LARGE),  # announced over the limit: not waited for
    (GET.replace(b"\r\n\r\n", b"\r\nContent-Length: 101\r\n\r\n"), BODY_TOO_LARGE),
    (POST.replace(b"5", b"x5"), CUT),
    (POST.replace(b"\r\n\r\n", b"\r\nContent-Length: 5\r\n\r\n"), CUT),
    (CHUNKED.replace(b"\r\n\r\n", b"\r\nContent-Length: 5\r\n\r\n"), CUT),
    (b"GET /health\r\nHost: x\r\n\r\n", CUT),
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 33_000, HEAD_TOO_LARGE),
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 33_000 + b"\r\n\r\n", HEAD_TOO_LARGE),
])
def test_outcome(data, expected):
    assert outcome(data) == expected


@pytest.mark.parametrize("data", [GET, POST + b"abcde",
                                  CHUNKED + b"3\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n"])
def test_a_request_fed_one_byte_at_a_time_is_whole_at_its_last_byte(data):
    incoming = IncomingRequest(100)
    for n, byte in enumerate(data, 1):
        incoming.feed(bytes([byte]))
        assert incoming.outcome() == (WHOLE if n == len(data) else None)


def test_the_head_gives_path_as_the_app_sees_it_continue_and_request_id():
    head = read_head(b"POST /h%65alth?x=1 HTTP/1.1\r\nHost: x\r\nexpect: 100-Continue\r\n"
                     b"X-Request-Id: abc-1\r\nContent-Length: 2\r\n\r\n")
    assert (head.path, head.length, head.expects_continue, head.request_id) == \
        ("/health", 2, True, "abc-1")
    assert not read_head(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expects_continue
