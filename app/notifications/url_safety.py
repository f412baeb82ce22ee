"""Which webhook URLs Batchery will call: http(s) to public addresses only, so a webhook cannot probe the inside."""
import ipaddress
import socket
from urllib.parse import urlsplit

from app.settings import get_settings

# Cloud metadata services: refused even when private targets are allowed.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254",
))
# What WEBHOOK_ALLOW_PRIVATE=1 lets through (development and tests); everything else stays refused.
ALLOWED_WHEN_PRIVATE = frozenset({"loopback", "private"})


# NAT64 prefixes (RFC 6052 well-known, RFC 8215 local use): the IPv4 address is the last 32 bits.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# getaddrinfo failures that say "try again", not "no such host".
_TRANSIENT_RESOLUTION = {socket.EAI_AGAIN} | ({socket.EAI_SYSTEM} if hasattr(socket, "EAI_SYSTEM") else set())


class UnsafeUrl(ValueError):
    """The URL must not be called; the message says why."""


class ResolutionUnavailable(UnsafeUrl):
    """The host could not be resolved just now (a temporary DNS failure): try again later."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, 6to4, Teredo client, NAT64), if any."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if any(ip in network for network in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def classify_address(address: str) -> str | None:
    """Why this IP address is not a public target (metadata, link-local, loopback, private…), or None if it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if ip.version == 6 and embedded_ipv4(ip) is not None:
        # A translator or tunnel delivers to the embedded IPv4 address: judge that one.
        ip = embedded_ipv4(ip)
    if ip in METADATA_ADDRESSES:
        return "metadata"
    for kind in ("unspecified", "multicast", "link_local", "loopback", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if ip.is_private or not ip.is_global:
        return "private"
    return None


def _resolve(host: str, port: int, resolver) -> list[str]:
    """Every address the host resolves to (an IP literal resolves to itself)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = resolver(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno in _TRANSIENT_RESOLUTION:
            raise ResolutionUnavailable(f"the host {host!r} could not be resolved just now ({exc})") from None
        raise UnsafeUrl(f"the host {host!r} does not resolve ({exc})") from None
    except (OSError, UnicodeError, ValueError) as exc:
        raise UnsafeUrl(f"the host {host!r} does not resolve ({exc})") from None
    addresses = sorted({info[4][0] for info in infos})
    if not addresses:
        raise UnsafeUrl(f"the host {host!r} does not resolve")
    return addresses


def check_url(url: str, allow_private: bool | None = None, resolver=None) -> None:
    """Raise UnsafeUrl unless the URL is http(s) and every address its host resolves to is public."""
    if allow_private is None:
        allow_private = get_settings().WEBHOOK_ALLOW_PRIVATE
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl(f"the URL is malformed ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("only http and https URLs are allowed")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    for address in _resolve(parts.hostname, port, resolver or socket.getaddrinfo):
        kind = classify_address(address)
        if kind and not (allow_private and kind in ALLOWED_WHEN_PRIVATE):
            raise UnsafeUrl(f"the host {parts.hostname!r} resolves to a {kind} address ({address}), which is refused")
