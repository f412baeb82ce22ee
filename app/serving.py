"""gunicorn settings of the web process (`gunicorn -c python:app.serving`).

gevent workers: a slow client or an open event stream costs a greenlet, not one of a few request slots, so
/healthz and other tenants keep answering. Under gevent, redis-py and requests use the patched sockets,
psycopg (>= 3.1.14) waits cooperatively by itself, and SQLite calls are short local file operations.
"""
import ipaddress
import os
import sys

worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = int(os.environ.get("WEB_WORKER_CONNECTIONS", "1000"))  # open connections per worker
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
