"""Dropping a client's TCP connection from inside a WSGI app.

WSGI has no way to say "no answer"; the servers banksim runs on expose the
client socket instead: gunicorn as `environ["gunicorn.socket"]` (sync and
gthread workers), werkzeug's dev server as `environ["werkzeug.socket"]`.

What can go wrong, and why the code looks like this:
- `socket.close()` does not close the descriptor while werkzeug still holds a
  file made from the socket, and both servers later half-close (FIN) the socket
  themselves, which would turn a reset into an orderly close. So the descriptor
  is replaced in place with `dup2`: the TCP socket goes away at once (RST, thanks
  to SO_LINGER 0) while the descriptor number stays valid, pointing at one end
  of a socket pair whose other end is closed. A keep-alive server that reads
  the "next request" sees end-of-file and closes quietly (an unconnected socket
  would raise ENOTCONN, which werkzeug prints as a traceback), and the server's
  own close can never hit a reused descriptor.
- After a drop the server must not treat the request as a crash. Both servers
  log nothing but a debug line for ConnectionResetError/BrokenPipeError, so
  that is what the faults raise.
"""
import errno
import os
import select
import socket
import struct

SOCKET_KEYS = ("gunicorn.socket", "werkzeug.socket")


def client_socket(environ: dict) -> socket.socket | None:
    for key in SOCKET_KEYS:
        sock = environ.get(key)
        if isinstance(sock, socket.socket):
            return sock
    return None


def client_gone(environ: dict) -> bool:
    """Whether the client has closed its end of the connection (a peek finds end-of-file,
    or the connection was reset). Bytes waiting to be read, a pipelined request, are not
    a close. For a fault that holds an answer for long: a phone that gave up frees what it
    held."""
    sock = client_socket(environ)
    if sock is None or sock.fileno() < 0:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (OSError, ValueError):
        return False


def reset(environ: dict) -> ConnectionResetError:
    """Send a TCP RST to the client now; return the exception the caller must raise."""
    sock = client_socket(environ)
    if sock is not None and sock.fileno() >= 0:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            placeholder, peer = socket.socketpair()
            peer.close()  # reads on the placeholder see end-of-file, writes EPIPE
            with placeholder:
                os.dup2(placeholder.fileno(), sock.fileno(), inheritable=False)
        except OSError:
            pass  # the client is already gone: nothing left to reset
    return ConnectionResetError(errno.ECONNRESET, "chaos: connection reset")


def hang_up(environ: dict) -> BrokenPipeError:
    """Close the connection in an orderly way (FIN) without an answer."""
    sock = client_socket(environ)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return BrokenPipeError(errno.EPIPE, "chaos: connection closed without an answer")
