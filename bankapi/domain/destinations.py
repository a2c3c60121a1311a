"""Where a webhook may send: http(s) to loopback or to a public address, nothing else.

A webhook URL makes the bank send requests on a customer's behalf, so a URL aimed at the
bank's own network (a private, link-local, reserved or multicast address: a cloud's
metadata service, a database port) is refused, as is any scheme but http and https.
Loopback is allowed on purpose: a developer's receiver on 127.0.0.1 is the common case.

The host is resolved when the webhook is registered *and again before every delivery*
(`resolve`), and the delivery connects to the address that was checked, so a name that
later resolves somewhere private (DNS rebinding) is refused at delivery time too.
"""
import ipaddress
import socket
from urllib.parse import urlsplit

from .errors import Invalid

MAX_URL = 2048
SCHEMES = {"http": 80, "https": 443}


class Refused(ValueError):
    """The destination is not allowed (or cannot be resolved); the message says why."""


def allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or _nat64(ip)
        if embedded is not None:  # an IPv4 address carried inside: judge that one
            ip = embedded
        elif ip.is_reserved and not ip.is_loopback:  # IPv4-compatible ::a.b.c.d, ::/8
            return False
    return ip.is_loopback or (ip.is_global and not ip.is_multicast and not ip.is_reserved)


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address in the low 32 bits


def _nat64(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an acceptable URL, else Refused."""
    if len(url) > MAX_URL:
        raise Refused(f"at most {MAX_URL} characters")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise Refused("no spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise Refused(f"not a URL: {error}") from None
    if parts.scheme not in SCHEMES:
        raise Refused("the scheme must be http or https")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("credentials in the URL are not allowed")
    if parts.fragment:
        raise Refused("a fragment is never sent; leave it out")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or SCHEMES[parts.scheme], path


def resolve(host: str, port: int) -> str:
    """The address to connect to: every address the host resolves to must be allowed
    (a name with one private address among public ones is refused), else Refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise Refused(f"cannot resolve {host[:100]}: {error}") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise Refused(f"{host[:100]} has no address")
    for address in addresses:
        if not allowed(address):
            raise Refused(f"{host[:100]} resolves to {address}, a private, link-local or "
                          "reserved address (only loopback and public addresses are allowed)")
    return addresses[0]


def check(url: str) -> None:
    """Refuse an unacceptable webhook URL as a 400 naming `url`."""
    try:
        _scheme, host, port, _path = parse(url)
        resolve(host, port)
    except Refused as refused:
        raise Invalid(f"url: {refused}", "url") from None
