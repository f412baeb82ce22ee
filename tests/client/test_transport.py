"""The SDK's HTTP layer against a real local HTTP server: retries with backoff, Retry-After, the error envelope."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.client.transport import ApiError, Transport, backoff_seconds


class Script(BaseHTTPRequestHandler):
    """Answers each request with the next scripted (status, headers, body); records what it saw."""

    answers: list = []
    seen: list = []

    def do_POST(self):
        self.seen.append((self.path, self.headers.get("Idempotency-Key"), self.headers.get("Authorization")))
        status, headers, body = self.answers.pop(0)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        payload = json.dumps(body).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Script)
    Script.answers, Script.seen = [], []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def envelope(error_type, **details):
    return {"error": {"type": error_type, "message": "m", "details": details}}


def test_429_and_503_are_retried_honouring_retry_after_with_the_same_idempotency_key(server):
    Script.answers = [(429, {"Retry-After": "7"}, envelope("rate_limited")), (503, {}, {}), (201, {}, {"ok": 1})]
    slept = []
    http = Transport(server, "k1", sleep=slept.append, backoff_base=0.5)
    assert http.json("POST", "/v1/objects", json={}, headers={"Idempotency-Key": "abc"}) == {"ok": 1}
    assert [seen[1:] for seen in Script.seen] == [("abc", "Bearer k1")] * 3
    assert 7 <= slept[0] <= 7.5 and 0 <= slept[1] <= 2.0


def test_connection_errors_are_retried_then_raised():
    slept = []
    http = Transport("http://127.0.0.1:9", max_retries=2, sleep=slept.append)   # nothing listens on port 9
    with pytest.raises(Exception) as caught:
        http.json("GET", "/v1/limits")
    assert "Connection" in type(caught.value).__name__ and len(slept) == 2


def test_an_in_progress_idempotent_request_is_waited_for_but_a_real_conflict_is_not(server):
    Script.answers = [(409, {}, envelope("idempotency_conflict", in_progress=True)), (201, {}, {"ok": 2}),
                      (409, {}, envelope("idempotency_conflict"))]
    http = Transport(server, sleep=lambda s: None)
    assert http.json("POST", "/v1/batches", json={}, headers={"Idempotency-Key": "k"}) == {"ok": 2}
    with pytest.raises(ApiError) as caught:
        http.json("POST", "/v1/batches", json={}, headers={"Idempotency-Key": "k"})
    assert (caught.value.status, caught.value.type) == (409, "idempotency_conflict")


def test_errors_carry_the_envelope_and_exhausted_retries_raise_the_last_answer(server):
    Script.answers = [(422, {}, envelope("empty_batch", batch="b"))] + [(503, {}, envelope("unavailable"))] * 3
    http = Transport(server, max_retries=2, sleep=lambda s: None)
    with pytest.raises(ApiError) as caught:
        http.json("POST", "/v1/batches/b/submit")
    assert (caught.value.status, caught.value.type, caught.value.details) == (422, "empty_batch", {"batch": "b"})
    with pytest.raises(ApiError) as caught:
        http.json("GET", "/v1/limits")
    assert caught.value.status == 503 and len(Script.seen) == 4


def test_backoff_grows_with_full_jitter_up_to_the_cap():
    assert all(0 <= backoff_seconds(n, None, 0.5, 4.0) <= min(4.0, 0.5 * 2 ** n) for n in range(1, 12))
    assert backoff_seconds(1, "Wed, 21 Oct 2015 07:28:00 GMT", 0.5, 4.0) <= 1.0   # a date: our own backoff
