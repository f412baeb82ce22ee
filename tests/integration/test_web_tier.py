"""The Procfile's web process under hostile load: 50 slow-header sockets and 50 open event streams held open,
while /healthz and another tenant's requests keep answering in < 1 s; a key's streams are capped (429
rate_limited); a connection trickling its headers is closed at WEB_HEADER_TIMEOUT, a body that stops arriving
is answered 400 at WEB_READ_TIMEOUT, and a slow upload that keeps sending is not cut."""
import json
import os
import select
import socket
import sqlite3
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
PROBE_BOUND = 1.0                # what every probe must answer within
HEADER_TIMEOUT = 3               # the web process's WEB_HEADER_TIMEOUT here (seconds)
READ_TIMEOUT = 3                 # and its WEB_READ_TIMEOUT


@pytest.fixture(scope="module")
def web(redis_db, tmp_path_factory):
    """`web` from the Procfile on a free loopback port, on a fresh SQLite file and our Redis database."""
    data_dir = tmp_path_factory.mktemp("web") / "data"
    port = free_port()
    env = {**os.environ, "PORT": str(port), "AUTH_DISABLED": "1", "RATE_LIMIT_PER_MINUTE": "0",
           "BATCHERY_DATA_DIR": str(data_dir), "REDIS_URL": redis_db.url, "REDIS_PREFIX": f"web-{os.getpid()}:",
           "SSE_MAX_STREAMS_PER_KEY": str(STREAMS_PER_TENANT), "SSE_HEARTBEAT_SECONDS": "1",
           "WEB_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "WEB_READ_TIMEOUT": str(READ_TIMEOUT)}
    env.pop("DATABASE_URL", None)
    release(env, data_dir.parent / "release.log")
    process = ProcfileProcess("web", env, data_dir.parent / "web.log")
    try:
        wait_until_serving(process, f"http://127.0.0.1:{port}/healthz")
        yield {"url": f"http://127.0.0.1:{port}", "port": port, "process": process, "data_dir": data_dir}
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
    """Sockets that each send one byte of a request header every `every` seconds, never finishing it; as an
    attacker would, each connects again when the server drops it, so `count` stay open (`dropped` counts drops)."""

    REQUEST = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Padding: " + b"a" * 10_000

    def __init__(self, port: int, count: int, every: float = 1.0):
        self.port, self.dropped = port, 0
        self.sockets = [self._connect() for _ in range(count)]
        self.sent = [0] * count
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._trickle, args=(every,), daemon=True)
        self.thread.start()

    def _connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def _trickle(self, every: float) -> None:
        while not self.stopping.wait(every):
            for i, sock in enumerate(self.sockets):
                try:
                    if select.select([sock], [], [], 0)[0] and not sock.recv(4096):
                        raise ConnectionResetError("closed by the server")
                    sock.send(self.REQUEST[self.sent[i]:self.sent[i] + 1])
                    self.sent[i] += 1
                except OSError:
                    sock.close()
                    self.dropped += 1
                    try:
                        self.sockets[i], self.sent[i] = self._connect(), 0
                    except OSError:
                        pass  # the next round tries again (a closed socket fails its send)

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
        # Everything is held open (the slow clients connecting again as they are dropped, for at least two
        # header timeouts): the process must still answer everyone else, every time within PROBE_BOUND.
        took, dropped, until = [], slow.dropped, time.monotonic() + 2 * HEADER_TIMEOUT
        while len(took) < 2 * PROBES or time.monotonic() < until:
            took.append(probe(f"{web['url']}/healthz"))
            took.append(probe(f"{web['url']}/v1/batches/{batches['tenant-c']}", **{"X-Namespace": "tenant-c"}))
        print(f"\n{SLOW_CLIENTS} slow clients ({slow.dropped - dropped} drops meanwhile) + {len(streams)} streams held, "
              f"load {os.getloadavg()[0]:.1f}: {len(took)} probes, median {sorted(took)[len(took) // 2] * 1000:.0f} ms, "
              f"max {max(took) * 1000:.0f} ms")
        assert max(took) < PROBE_BOUND

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


def seconds_until_answered(port: int, request: bytes, first: int, trickle: bool = True, limit: float = 30) -> tuple:
    """Send `first` bytes of `request`, then (if `trickle`) one more a second, until the server closes the
    connection; (seconds from connecting until it answered or closed, everything it sent)."""
    started, answered_at = time.monotonic(), None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request[:first])
        sent, answer = first, b""
        while time.monotonic() - started < limit:
            if select.select([sock], [], [], 1.0)[0]:
                chunk = sock.recv(65536)
                answered_at = answered_at or time.monotonic()
                if not chunk:
                    return answered_at - started, answer
                answer += chunk
            elif trickle and sent < len(request):
                sock.send(request[sent:sent + 1])
                sent += 1
    raise AssertionError(f"the server kept the connection open for {limit} s")


def test_a_connection_trickling_its_headers_is_closed_at_the_header_timeout(web):
    closed, answer = seconds_until_answered(web["port"], SlowClients.REQUEST, first=1)
    assert answer == b""  # dropped: nothing was ever a request
    assert HEADER_TIMEOUT - 0.1 < closed < HEADER_TIMEOUT + 5


def test_a_body_that_stops_arriving_is_answered_400_at_the_read_timeout(web):
    head = (b"POST /v1/batches HTTP/1.1\r\nHost: t\r\nX-Namespace: tenant-s\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    answered, answer = seconds_until_answered(web["port"], head + b'{"collection_id": ', first=len(head) + 10,
                                              trickle=False)
    assert READ_TIMEOUT - 0.1 < answered < READ_TIMEOUT + 5
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 400 ")
    error = json.loads(body)["error"]
    assert error["type"] == "validation_error" and error["details"] == {"setting": "WEB_READ_TIMEOUT"}
    listed = requests.get(f"{web['url']}/v1/batches", headers={"X-Namespace": "tenant-s"}, timeout=30)
    assert listed.json()["batches"] == []  # nothing half-written


def test_a_slow_upload_that_keeps_sending_is_not_cut(web):
    content = os.urandom(600).hex().encode()  # 1,200 bytes; the body goes out 100 bytes a second (~14 s)
    boundary = b"slowupload"
    body = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\n" + content + b"\r\n--" + boundary + b"--\r\n")
    head = (f"POST /v1/objects HTTP/1.1\r\nHost: t\r\nX-Namespace: tenant-u\r\nConnection: close\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary.decode()}\r\nContent-Length: {len(body)}\r\n\r\n")
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", web["port"]), timeout=60) as sock:
        sock.sendall(head.encode())
        for start in range(0, len(body), 100):
            time.sleep(1.0)  # a third of READ_TIMEOUT between pieces: slow, but never silent that long
            sock.sendall(body[start:start + 100])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert time.monotonic() - started > 3 * max(HEADER_TIMEOUT, READ_TIMEOUT)  # longer than either timeout
    status, _, response = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 201 "), answer
    stored = json.loads(response)["objects"][0]
    assert stored["size_bytes"] == len(content)


def test_writes_waiting_for_the_sqlite_lock_do_not_stop_the_web_workers(web):
    """A worker's long write transaction makes the API's writes wait, not /healthz (SQLite waits off the hub)."""
    database = next(web["data_dir"].glob("*.sqlite3"))
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # what a worker's write transaction holds
    answers = []

    def create():
        answers.append(requests.post(f"{web['url']}/v1/batches", json={"collection_id": "c"},
                                     headers={"X-Namespace": "tenant-w"}, timeout=60).status_code)
    writers = [threading.Thread(target=create) for _ in range(6)]  # enough to reach both web workers
    try:
        for writer in writers:
            writer.start()
        took, until = [], time.monotonic() + 3
        while time.monotonic() < until:
            took.append(probe(f"{web['url']}/healthz"))
        assert not answers  # the writes were waiting for the lock all along
        print(f"\nSQLite write lock held, 6 writes waiting, load {os.getloadavg()[0]:.1f}: {len(took)} probes, "
              f"median {sorted(took)[len(took) // 2] * 1000:.0f} ms, max {max(took) * 1000:.0f} ms")
        assert max(took) < PROBE_BOUND
    finally:
        holder.execute("COMMIT")
        holder.close()
        for writer in writers:
            writer.join(timeout=60)
    assert answers == [201] * 6  # and they went through once it was released


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
