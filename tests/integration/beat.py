"""A real `celery -A tasks beat` process, and a stack of API + worker + beats with settings of the test's choosing."""
import os
from contextlib import contextmanager
from pathlib import Path

from app import create_app, db
from app.queue import celery_app
from app.redis_client import use_redis
from tests.integration.stack import CeleryProcess, Worker, stack_settings, stub_celery


class Beat(CeleryProcess):
    """`celery -A tasks beat` with its schedule file in its own directory."""

    def __init__(self, env: dict, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(["beat", "--loglevel", "INFO", "--schedule", str(directory / "celerybeat-schedule")],
                         env, directory / "beat.log")


@contextmanager
def beat_stack(database_url: str, redis_db, data_dir: Path, env_overrides: dict, worker_args=(), beats: int = 1,
               broker_url: str | None = None):
    """The API (test client), one real worker and `beats` real beat processes sharing the database, Redis, broker."""
    settings = stack_settings(database_url, redis_db.url, data_dir, broker_url, **env_overrides)
    redis_db.client.flushdb()
    app = create_app(settings)
    use_redis(None)
    env = {**os.environ, **settings}
    processes = [Worker(env, data_dir / "worker.log", extra_args=worker_args)]
    try:
        processes[0].wait_ready(celery_app)
        processes += [Beat(env, data_dir / f"beat-{n}") for n in range(beats)]
        yield {"app": app, "client": app.test_client(), "redis": redis_db.client, "worker": processes[0],
               "beats": processes[1:], "settings": settings, "data_dir": data_dir}
    finally:
        for process in reversed(processes):   # beats first: no tick is left for a stopped worker
            process.stop()
        db.dispose_engine()
        stub_celery()
