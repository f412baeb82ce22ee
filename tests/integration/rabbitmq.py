"""A RabbitMQ virtual host of our own on the local server, so test runs never share a queue; deleted at the end."""
import os
import shutil
import socket
import subprocess
import uuid

RABBITMQ = os.environ.get("BATCHERY_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672")


class RabbitUnavailable(Exception):
    """No RabbitMQ here, or no way to make a vhost on it (the reason says which)."""


def _ctl(*args: str) -> None:
    """Run rabbitmqctl (root or the rabbitmq user only)."""
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RabbitUnavailable(f"rabbitmqctl {args[0]} failed: {(done.stderr or done.stdout).strip()[:300]}")


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
