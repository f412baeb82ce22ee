"""A RabbitMQ virtual host of our own on the local server, so test runs never share a queue; deleted at the end."""
import os
import shutil
import socket
import subprocess
import uuid

import pytest

RABBITMQ = os.environ.get("BATCHERY_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672")


# A module's stacks on each database with Redis as the broker, and once more on RabbitMQ (SQLite, always at hand;
# Redis stays the result backend and status store): `pytestmark = ALSO_ON_RABBITMQ`, see conftest's broker_url.
# pytest reuses a module's fixture for an equal param: the RabbitMQ stack asks for "sqlite for rabbitmq" so that it
# gets a SQLite file of its own, not the file the Redis stack left its batches in.
ALSO_ON_RABBITMQ = pytest.mark.parametrize(
    ("database_url", "broker_url"),
    [("sqlite", "redis"), ("postgresql", "redis"), ("sqlite for rabbitmq", "rabbitmq")],
    ids=["sqlite", "postgresql", "sqlite-rabbitmq"], indirect=True, scope="module")


class RabbitUnavailable(Exception):
    """No RabbitMQ here, or no way to make a vhost on it (the reason says which)."""


def _ctl(*args: str) -> str:
    """Run rabbitmqctl (root or the rabbitmq user only); its output."""
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RabbitUnavailable(f"rabbitmqctl {args[0]} failed: {(done.stderr or done.stdout).strip()[:300]}")
    return done.stdout


def vhost_queues(url: str) -> dict[str, int]:
    """Every queue of the vhost at an `amqp://…/<vhost>` URL, and the messages ready in it."""
    rows = (line.split("\t") for line in _ctl("list_queues", "-p", url.rsplit("/", 1)[1], "--no-table-headers",
                                             "name", "messages").splitlines() if line.strip())
    return {name: int(messages) for name, messages in rows}


class RabbitVhost:
    """`amqp://…/<vhost>` for one test module: queues, exchanges and messages vanish with the vhost."""

    def __init__(self):
        host_port = RABBITMQ.rsplit("@", 1)[-1].split("/", 1)[0]
        host, _, port = host_port.partition(":")
        try:
            socket.create_connection((host, int(port or 5672)), timeout=3).close()
        except OSError as exc:
            raise RabbitUnavailable(f"RabbitMQ not reachable at {host_port} ({exc}); set BATCHERY_TEST_RABBITMQ")
        if shutil.which("rabbitmqctl") is None:
            raise RabbitUnavailable("rabbitmqctl not found: cannot make a vhost of our own")
        self.name = f"batchery-test-{uuid.uuid4().hex[:10]}"
        user = RABBITMQ.split("//", 1)[1].split(":", 1)[0]
        _ctl("add_vhost", self.name)
        try:
            _ctl("set_permissions", "-p", self.name, user, ".*", ".*", ".*")
        except RabbitUnavailable:
            self.close()
            raise
        self.url = f"{RABBITMQ.rstrip('/')}/{self.name}"

    def close(self) -> None:
        """Delete the vhost with everything in it."""
        _ctl("delete_vhost", self.name)
