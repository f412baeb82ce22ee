"""A webhook receiver on loopback for tests: records every POST, answers from a per-path script, verifies signatures."""
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify_signature(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does: recompute HMAC-SHA256(secret, "<t>.<body>") and compare in constant time."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Receiver:
    """ThreadingHTTPServer on 127.0.0.1; `fail_first[path] = n` answers 500 to the first n POSTs of that path."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_first: dict[str, int] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    seen = sum(1 for r in receiver.requests if r["path"] == self.path)
                    status = 500 if seen < receiver.fail_first.get(self.path, 0) else 200
                    status = 302 if self.path.startswith("/redirect") else status
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                              "json": json.loads(body), "status": status})
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/redirected")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        """The receiver's URL for a path."""
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str) -> list[dict]:
        """The requests that reached this path so far."""
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def stop(self):
        """Shut the server down and free its port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
