"""Integration fixtures: real Redis, a real database (SQLite file and PostgreSQL), a real Celery worker."""
import os

import pytest

from app import create_app, db
from app.queue import celery_app
from app.redis_client import use_redis
from tests.integration.rabbitmq import RabbitUnavailable, RabbitVhost
from tests.schema import migrate
from tests.integration.stack import PostgresDatabase, RedisDatabase, Worker, stack_settings, stub_celery


def pytest_collection_modifyitems(items):
    """Everything in this folder is an integration test."""
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def redis_db():
    """A Redis database number of our own for the whole run."""
    database = RedisDatabase()
    yield database
    database.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A SQLite file, then a throwaway PostgreSQL database (skipped only where none is reachable)."""
    if request.param.startswith("sqlite"):   # "sqlite for rabbitmq": a file of its own (see ALSO_ON_RABBITMQ)
        yield migrate(f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'batchery.sqlite3'}")
        return
    try:
        database = PostgresDatabase()
    except Exception as exc:  # no server on this machine
        pytest.skip(f"PostgreSQL not reachable ({exc.__class__.__name__}); set BATCHERY_TEST_POSTGRES to run it")
    yield migrate(database.url)
    db.dispose_engine()
    database.close()


@pytest.fixture(scope="module")
def broker_url(request, redis_db):
    """The stack's broker: Redis, or "rabbitmq" where a module asks for it (ALSO_ON_RABBITMQ): a vhost of this stack's
    own, deleted with its queues and messages at teardown; skipped with the reason when RabbitMQ is unreachable."""
    if getattr(request, "param", "redis") == "redis":
        yield redis_db.url
        return
    try:
        vhost = RabbitVhost()
    except RabbitUnavailable as exc:
        pytest.skip(str(exc))
    yield vhost.url
    vhost.close()


@pytest.fixture(scope="module")
def worker_env():
    """Extra environment for the stack's worker only; a test module overrides this fixture to change it."""
    return {}


@pytest.fixture(scope="module")
def worker_args():
    """Extra command-line arguments for the stack's worker (override in the module, e.g. --loglevel DEBUG)."""
    return ()


@pytest.fixture(scope="module")
def extra_settings():
    """Settings a test module adds to its stack's API and worker (override this fixture in the module)."""
    return {}


@pytest.fixture(scope="module")
def stack(database_url, redis_db, broker_url, tmp_path_factory, worker_env, extra_settings, worker_args):
    """The API (test client) and one real worker sharing the database, Redis and the broker."""
    data_dir = tmp_path_factory.mktemp("data")
    settings = stack_settings(database_url, redis_db.url, data_dir, broker_url, **extra_settings)
    redis_db.client.flushdb()
    app = create_app(settings)
    use_redis(None)
    env = {**os.environ, **settings, **worker_env}
    worker = Worker(env, data_dir / "worker.log", extra_args=worker_args).wait_ready(celery_app)
    yield {"app": app, "client": app.test_client(), "redis": redis_db.client, "worker": worker,
           "settings": settings, "env": env, "data_dir": data_dir}
    worker.stop()
    db.dispose_engine()
    stub_celery()
