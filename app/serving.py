"""gunicorn settings of the web process (`gunicorn -c python:app.serving`).

gevent workers: a slow client or an open event stream costs a greenlet, not one of a few request slots, so
/healthz and other tenants keep answering. Under gevent, redis-py and requests use the patched sockets,
psycopg (>= 3.1.14) waits cooperatively by itself, and a SQLite statement that may wait for the write lock
runs in gevent's threadpool (app/sqlite_off_hub.py).

Slow clients are dropped, not merely tolerated: gunicorn's async workers read each request's headers under a
`keepalive`-second deadline (counted from the connection, or from the previous response on a kept-alive
one), so a connection trickling its headers is closed after WEB_HEADER_TIMEOUT; and every accepted socket
gets a WEB_READ_TIMEOUT timeout, so a body (or a response the client stops reading) that makes no progress
for that long ends the request, while a slow upload that keeps sending is never cut.
"""
import ipaddress
import os
import sys

from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker


def _seconds(name: str, default: str) -> int:
    """A positive whole number of seconds from the environment (0 would switch the protection off)."""
    value = int(os.environ.get(name, default))
    if value < 1:
        raise ValueError(f"{name} must be at least 1 second, not {value}")
    return value


HEADER_TIMEOUT = _seconds("WEB_HEADER_TIMEOUT", "10")
READ_TIMEOUT = _seconds("WEB_READ_TIMEOUT", "30")


class SlowClientGeventWorker(GeventWorker):
    """gunicorn's gevent worker whose connections time out when the client stops sending (or reading)."""

    def handle(self, listener, client, addr):
        # GeventWorker.handle makes the socket blocking with no timeout at all; give it READ_TIMEOUT instead.
        client.settimeout(READ_TIMEOUT)
        AsyncWorker.handle(self, listener, client, addr)


worker_class = "app.serving.SlowClientGeventWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = int(os.environ.get("WEB_WORKER_CONNECTIONS", "1000"))  # open connections per worker
keepalive = HEADER_TIMEOUT  # the deadline for a request's headers (see above), and for an idle kept-alive connection
timeout = 120
graceful_timeout = 30
control_socket_disable = True  # gunicorn >= 27: its control socket path is shared by every instance of a user


def is_loopback(address) -> bool:
    """True for a loopback (host, port) or a Unix socket path; False for wildcard and public addresses."""
    if not isinstance(address, tuple):
        return True  # a Unix socket (path) or an inherited descriptor: reachable only on this machine
    host = str(address[0]).strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name that may resolve anywhere


def unauthenticated_bind_refusal(addresses, settings) -> str | None:
    """Why the web process must not start (auth off on a reachable address), or None."""
    exposed = [a for a in addresses if not is_loopback(a)]
    if not settings.AUTH_DISABLED or not exposed or settings.ALLOW_UNAUTHENTICATED_BIND:
        return None
    shown = ", ".join(f"{a[0]}:{a[1]}" for a in exposed)
    return (f"AUTH_DISABLED=1 and the web process binds {shown}, which other machines can reach: anyone there could "
            f"read and write every namespace. Bind 127.0.0.1, turn auth on, or set ALLOW_UNAUTHENTICATED_BIND=1.")


def on_starting(server):
    """Refuse an unauthenticated API on a reachable address; say so loudly when it is allowed anyway."""
    from app.access.keys import auth_disabled_banner
    from app.settings import load_settings

    settings = load_settings()
    refusal = unauthenticated_bind_refusal(server.cfg.address, settings)
    if refusal:
        server.log.error("refusing to start: %s", refusal)
        sys.exit(1)
    if settings.AUTH_DISABLED and any(not is_loopback(a) for a in server.cfg.address):
        server.log.warning("ALLOW_UNAUTHENTICATED_BIND=1: serving WITHOUT authentication on a reachable "
                           "address\n%s", auth_disabled_banner())
