"""The Procfile's web process under hostile load: 50 slow-header sockets and 50 open event streams held open,
while /healthz and another tenant's requests keep answering; a key's streams are capped (429 rate_limited)."""
import os
import socket
import threading
import time

import pytest
import requests

from app.embedded import free_port
from tests.integration.procfile import ProcfileProcess, release, wait_until_serving
from tests.integration.stack import wait_for

SLOW_CLIENTS = 50
STREAMS_PER_TENANT = 25          # two tenants at their cap: 50 streams
PROBES = 9
PROBE_TIMEOUT = 5.0              # the old 8-slot server answered 0 of 9 probes in 60 s under this load


@pytest.fixture(scope="module")
def web(redis_db, tmp_path_factory):
    """`web` from the Procfile on a free loopback port, on a fresh SQLite file and our Redis database."""
    data_dir = tmp_path_factory.mktemp("web") / "data"
    port = free_port()
    env = {**os.environ, "PORT": str(port), "AUTH_DISABLED": "1", "RATE_LIMIT_PER_MINUTE": "0",
           "BATCHERY_DATA_DIR": str(data_dir), "REDIS_URL": redis_db.url, "REDIS_PREFIX": f"web-{os.getpid()}:",
           "SSE_MAX_STREAMS_PER_KEY": str(STREAMS_PER_TENANT), "SSE_HEARTBEAT_SECONDS": "1"}
    env.pop("DATABASE_URL", None)
    release(env, data_dir.parent / "release.log")
    process = ProcfileProcess("web", env, data_dir.parent / "web.log")
    try:
        wait_until_serving(process, f"http://127.0.0.1:{port}/healthz")
        yield {"url": f"http://127.0.0.1:{port}", "port": port, "process": process}
    finally:
        process.stop()


def draft_batch(web, namespace: str) -> str:
    """A DRAFT batch of the namespace: its event stream stays open until it ends."""
    response = requests.post(f"{web['url']}/v1/batches", json={"collection_id": "c"},
                             headers={"X-Namespace": namespace}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["batch_id"]


def open_stream(web, namespace: str, batch_id: str) -> tuple[socket.socket, int]:
    """A raw socket holding GET …/events open; (socket, HTTP status)."""
    sock = socket.create_connection(("127.0.0.1", web["port"]), timeout=30)
    sock.sendall(f"GET /v1/batches/{batch_id}/events HTTP/1.1\r\nHost: t\r\nX-Namespace: {namespace}\r\n"
                 f"Accept: text/event-stream\r\n\r\n".encode())
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(256)
        assert chunk, "the server closed the stream before answering"
        head += chunk
    return sock, int(head.split(b" ", 2)[1])


class SlowClients:
    """Sockets that each send one byte of a request header every `every` seconds, never finishing it."""

    def __init__(self, port: int, count: int, every: float = 2.0):
        self.sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._trickle, args=(every,), daemon=True)
        self.thread.start()

    def _trickle(self, every: float) -> None:
        request = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Padding: " + b"a" * 10_000
        position = 0
        while not self.stopping.wait(every):
            for sock in self.sockets:
                try:
                    sock.send(request[position:position + 1])
                except OSError:
                    pass  # a server that drops a slow client is fine
            position += 1

    def close(self) -> None:
        """Stop trickling and close every socket."""
        self.stopping.set()
        self.thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()


def probe(url: str, **headers) -> float:
    """Seconds one GET took; fails if it did not answer 200 within PROBE_TIMEOUT."""
    started = time.monotonic()
    response = requests.get(url, headers=headers, timeout=PROBE_TIMEOUT)
    assert response.status_code == 200, response.text
    return time.monotonic() - started


@pytest.mark.timeout(240)
def test_health_and_other_tenants_answer_while_slow_clients_and_streams_are_held(web):
    batches = {ns: draft_batch(web, ns) for ns in ("tenant-a", "tenant-b", "tenant-c")}
    slow = SlowClients(web["port"], SLOW_CLIENTS)
    streams = []
    try:
        for namespace in ("tenant-a", "tenant-b"):
            for _ in range(STREAMS_PER_TENANT):
                sock, status = open_stream(web, namespace, batches[namespace])
                streams.append(sock)
                assert status == 200
        # Everything is held open: the process must still answer everyone else.
        took = []
        for _ in range(PROBES):
            took.append(probe(f"{web['url']}/healthz"))
            took.append(probe(f"{web['url']}/v1/batches/{batches['tenant-c']}", **{"X-Namespace": "tenant-c"}))
        print(f"\n{SLOW_CLIENTS} slow clients + {len(streams)} streams held: {len(took)} probes, "
              f"median {sorted(took)[len(took) // 2] * 1000:.0f} ms, max {max(took) * 1000:.0f} ms")

        # tenant-a is at its cap: one more stream is refused in the error envelope; tenant-c is not affected.
        over = requests.get(f"{web['url']}/v1/batches/{batches['tenant-a']}/events",
                            headers={"X-Namespace": "tenant-a"}, timeout=30, stream=True)
        assert over.status_code == 429 and over.headers["Retry-After"]
        error = over.json()["error"]
        assert error["type"] == "rate_limited" and error["details"]["setting"] == "SSE_MAX_STREAMS_PER_KEY"
        sock, status = open_stream(web, "tenant-c", batches["tenant-c"])
        streams.append(sock)
        assert status == 200

        # A client that leaves gives its slot back (noticed at the next heartbeat write).
        streams.pop(0).close()

        def reopened():
            sock, status = open_stream(web, "tenant-a", batches["tenant-a"])
            if status == 200:
                streams.append(sock)
                return True
            sock.close()
            return False
        wait_for(reopened, 60, interval=0.5, message="tenant-a's freed stream slot")
    finally:
        slow.close()
        for sock in streams:
            sock.close()
    web["process"].assert_running("web")


def test_web_refuses_auth_disabled_on_a_reachable_bind(tmp_path):
    env = {**os.environ, "AUTH_DISABLED": "1", "WEB_HOST": "0.0.0.0", "PORT": str(free_port()),
           "BATCHERY_DATA_DIR": str(tmp_path / "data")}
    env.pop("ALLOW_UNAUTHENTICATED_BIND", None)
    process = ProcfileProcess("web", env, tmp_path / "web.log")
    try:
        assert process.exited_with(60) != 0
        assert "refusing to start: AUTH_DISABLED=1 and the web process binds 0.0.0.0:" in process.log_text()
        assert "Listening at" not in process.log_text()  # refused before binding anything
    finally:
        process.stop()
