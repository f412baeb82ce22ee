"""A network namespace for a worker that shares nothing with the test's host but a veth link to its services.

The services (Redis, PostgreSQL, RabbitMQ, the S3 server) listen on 127.0.0.1 only, which a namespace cannot
reach; a relay bound to the host end of the veth pair forwards each service port to its loopback address.
"""
import os
import random
import socket
import socketserver
import subprocess
import threading
import uuid


class NamespaceUnavailable(Exception):
    """Network namespaces cannot be made here (not root, no `ip`, or no permission in this sandbox)."""


def _ip(*args: str) -> None:
    """Run `ip`; a refusal becomes NamespaceUnavailable with its message."""
    try:
        done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    except FileNotFoundError as exc:
        raise NamespaceUnavailable("the `ip` command is missing") from exc
    if done.returncode != 0:
        raise NamespaceUnavailable(f"ip {' '.join(args)}: {done.stderr.strip()[:300]}")


def _unused_subnet() -> int:
    """A 10.213.N.0/30 no interface of this machine uses yet (other test runs may hold some)."""
    used = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
    free = [n for n in range(256) if f"10.213.{n}." not in used]
    if not free:
        raise NamespaceUnavailable("every 10.213.N.0/30 link is in use")
    return random.choice(free)


class _Pipe(socketserver.BaseRequestHandler):
    """Forward one accepted connection to the server's target and copy bytes both ways until either side closes."""

    def handle(self):
        if self.server.down:   # an outage: the connection is dropped at once
            return
        upstream = socket.create_connection(self.server.target, timeout=10)
        upstream.settimeout(None)
        self.server.open |= {self.request, upstream}
        back = threading.Thread(target=_copy, args=(upstream, self.request), daemon=True)
        back.start()
        _copy(self.request, upstream)
        back.join()
        upstream.close()
        self.server.open -= {self.request, upstream}


def _copy(source: socket.socket, sink: socket.socket) -> None:
    """Copy until EOF or an error, then half-close the sink so the other direction ends too."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class _Relay(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    down = False

    def cut(self) -> None:
        """Refuse new connections and break the open ones (a service outage, as the namespace sees it)."""
        self.down = True
        for sock in list(self.open):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class WorkerNamespace:
    """`ip netns` + a veth pair (/30 link); `command(argv)` runs argv inside; `relay(port)` exposes a loopback port."""

    def __init__(self):
        if os.geteuid() != 0:
            raise NamespaceUnavailable("not root: cannot create network namespaces")
        tag = uuid.uuid4().hex[:6]
        self.name, self.host_if, self.ns_if = f"batchery-{tag}", f"bqh{tag}", f"bqn{tag}"
        subnet = _unused_subnet()
        self.host_ip, self.ns_ip = f"10.213.{subnet}.1", f"10.213.{subnet}.2"
        self.relays = {}
        _ip("netns", "add", self.name)
        try:
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
            _ip("link", "set", self.ns_if, "netns", self.name)
            _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
            _ip("link", "set", self.host_if, "up")
            _ip("-n", self.name, "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_if)
            _ip("-n", self.name, "link", "set", self.ns_if, "up")
            _ip("-n", self.name, "link", "set", "lo", "up")
        except NamespaceUnavailable:
            self.close()
            raise

    def relay(self, port: int) -> str:
        """Make 127.0.0.1:port reachable from the namespace at host_ip:port; returns that host:port."""
        server = _Relay((self.host_ip, port), _Pipe)
        server.target, server.open = ("127.0.0.1", port), set()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.relays[port] = server
        return f"{self.host_ip}:{port}"

    def cut(self, port: int) -> None:
        """Make the service behind `port` unreachable from the namespace."""
        self.relays[port].cut()

    def restore(self, port: int) -> None:
        """Let the namespace reach it again."""
        self.relays[port].down = False

    def command(self, argv: list[str]) -> list[str]:
        """argv run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def close(self) -> None:
        """Stop the relays; deleting the namespace removes the veth pair with it."""
        for server in self.relays.values():
            server.shutdown()
            server.server_close()
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True)
