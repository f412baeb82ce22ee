"""Real services for integration tests: a private Redis database, a throwaway PostgreSQL database, a Celery worker."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

from app.embedded import PrivateRedis

ROOT = Path(__file__).resolve().parents[2]
SHARED_REDIS = os.environ.get("BATCHERY_TEST_REDIS", "redis://127.0.0.1:6379")
POSTGRES_ADMIN = os.environ.get("BATCHERY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def reachable(url: str) -> bool:
    """True when a Redis answers PING at the URL."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def wait_for(predicate, timeout: float, interval: float = 0.05, message: str = "condition"):
    """Poll until predicate() is truthy and return it; fail after the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class RedisDatabase:
    """A Redis database number of our own on the shared server (locked), or a private embedded server."""

    def __init__(self):
        self.server = None
        self.lock = None
        if reachable(f"{SHARED_REDIS}/0"):
            admin = redis.Redis.from_url(f"{SHARED_REDIS}/0")
            for number in range(1, 16):
                lock = f"batchery-test-db-lock:{number}"
                if admin.set(lock, os.getpid(), nx=True, ex=3 * 3600):
                    self.lock, self.admin, self.number = lock, admin, number
                    self.url = f"{SHARED_REDIS}/{number}"
                    break
        if self.lock is None:  # no shared Redis, or every database busy: run our own
            self.server = PrivateRedis()
            self.url = self.server.url
        self.client = redis.Redis.from_url(self.url, decode_responses=True)
        self.client.flushdb()

    def close(self):
        """Leave the database empty and unlock it (or stop the private server)."""
        try:
            self.client.flushdb()
        finally:
            if self.lock:
                self.admin.delete(self.lock)
            if self.server:
                self.server.stop()


class PostgresDatabase:
    """A fresh database on the local PostgreSQL, dropped at the end; None-like when unreachable."""

    def __init__(self):
        import psycopg

        self.name = f"batchery_test_{uuid.uuid4().hex[:12]}"
        self.admin_url = POSTGRES_ADMIN.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        base = self.admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        self.url = f"{base}/{self.name}"

    def close(self):
        """Drop the database, disconnecting anyone still attached."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class LoggedProcess:
    """A real process in its own process group, logging to a file; stop() leaves nothing behind."""

    def __init__(self, argv: list[str], env: dict, log_path: Path, wrap=None, cwd: Path = ROOT):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        # wrap: run argv inside something (a network namespace); cwd: a worker sharing no directory of ours.
        self.process = subprocess.Popen(wrap(argv) if wrap else argv, cwd=cwd, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def assert_running(self, what: str) -> None:
        """Fail with the log's tail when the process already exited."""
        if self.process.poll() is not None:
            raise AssertionError(f"{what} exited early:\n{self.log_path.read_text()[-3000:]}")

    def log_text(self) -> str:
        """Everything the process logged so far."""
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        """Warm shutdown, then kill the whole process group if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class CeleryProcess(LoggedProcess):
    """A real `celery -A tasks <command>`."""

    def __init__(self, args: list[str], env: dict, log_path: Path, **where):
        super().__init__([sys.executable, "-m", "celery", "-A", "tasks", *args], env, log_path, **where)


class Worker(CeleryProcess):
    """A real `celery -A tasks worker` with the given environment."""

    def __init__(self, env: dict, log_path: Path, concurrency: int = 2, extra_args=(), **where):
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        super().__init__(["worker", "--loglevel", "INFO", "--pool", "prefork", "--concurrency", str(concurrency),
                          "--hostname", self.name, "--without-mingle", "--without-gossip", *extra_args], env, log_path,
                         **where)

    def wait_ready(self, celery_app, timeout: float = 60):
        """Wait until the worker answers a ping."""
        def answered():
            self.assert_running("worker")
            return celery_app.control.ping(destination=[self.name], timeout=0.5)
        wait_for(answered, timeout, interval=0.2, message="the worker to answer ping")
        return self

    def control(self, celery_app, command: str, timeout: float = 60, **arguments):
        """Send a remote-control (or inspect) command until this worker answers it; its answer.

        A broadcast is fire-and-forget: under load its reply can miss any fixed timeout, and a test that
        goes on without it races the worker. Commands here are idempotent, so a late one may run twice.
        """
        def answered():
            self.assert_running("worker")
            replies = celery_app.control.broadcast(command, arguments=arguments, destination=[self.name],
                                                   reply=True, timeout=1)
            return next(({"answer": r[self.name]} for r in replies if self.name in r), None)
        return wait_for(answered, timeout, interval=0.2, message=f"the worker to answer {command}")["answer"]


class WebProcess(LoggedProcess):
    """The real web process as the Procfile runs it (gunicorn with app.serving), one worker on a free loopback port."""

    def __init__(self, env: dict, log_path: Path):
        from app.embedded import free_port

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        super().__init__([sys.executable, "-m", "gunicorn", "--config", "python:app.serving", "--bind",
                          f"127.0.0.1:{self.port}", "--workers", "1", "app:create_app()"], env, log_path)

    def wait_ready(self, timeout: float = 60):
        """Wait until /healthz answers."""
        import requests

        def up():
            self.assert_running("gunicorn")
            try:
                return requests.get(f"{self.base}/healthz", timeout=2).status_code == 200
            except requests.RequestException:  # not listening yet, or still importing the app
                return False
        wait_for(up, timeout, interval=0.2, message="gunicorn to answer")
        return self


def queue_length(queue: str) -> int:
    """Messages ready in one of Batchery's queues ("batchery"; Redis or RabbitMQ alike), read through kombu."""
    from amqp.exceptions import ChannelError

    from app.queue import celery_app

    name = celery_app.amqp.queues[queue].name   # the broker's name: prefixed on RabbitMQ (DeploymentQueues)
    with celery_app.connection_for_write() as connection:
        try:
            return connection.default_channel.queue_declare(name, passive=True).message_count
        except ChannelError:  # Redis: an empty queue is no list at all, which kombu reports as not found
            return 0


def stack_settings(database_url: str, redis_url: str, data_dir: Path, broker_url: str | None = None,
                   **overrides) -> dict:
    """Settings shared by the API under test and the processes it starts: auth off, no rate limit (tests poll fast)."""
    return {
        "AUTH_DISABLED": "1", "RATE_LIMIT_PER_MINUTE": "0", "BATCHERY_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "REDIS_PREFIX": f"it-{os.getpid()}-{data_dir.name}:",
        "CELERY_BROKER_URL": broker_url or redis_url, "CELERY_RESULT_BACKEND": redis_url, **overrides,
    }


def stub_celery() -> None:
    """Point this process's Celery app back at in-memory transports once a stack is gone."""
    from app.queue import configure_celery
    from app.settings import load_settings

    configure_celery(load_settings({"CELERY_BROKER_URL": "memory://", "CELERY_RESULT_BACKEND": "cache+memory://"}))
