"""Shared fixtures: a Flask app on a SQLite file with fakeredis, its test client, and recorded task publishing."""
from collections import defaultdict

import fakeredis
import pytest

from app import create_app, db
from app.redis_client import use_redis
from tests.schema import migrate


@pytest.fixture
def settings_overrides(tmp_path):
    """Settings for an isolated app: its own data directory and SQLite file (migrated to head)."""
    return {
        "AUTH_DISABLED": True,
        "BATCHERY_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": migrate(f"sqlite:///{tmp_path / 'batchery.sqlite3'}"),
        "REDIS_PREFIX": "test:",
        # The stub broker: a task published without a recording fixture stays in this process.
        "CELERY_BROKER_URL": "memory://",
        "CELERY_RESULT_BACKEND": "cache+memory://",
    }


@pytest.fixture
def fake_redis():
    """An in-process Redis for unit and API tests."""
    client = fakeredis.FakeRedis(decode_responses=True)
    use_redis(client)
    yield client
    use_redis(None)


@pytest.fixture
def app(settings_overrides, fake_redis):
    """The Flask app, fresh per test."""
    application = create_app(settings_overrides)
    yield application
    db.dispose_engine()


@pytest.fixture
def client(app):
    """The Flask test client."""
    return app.test_client()


@pytest.fixture
def sent_tasks(monkeypatch):
    """Record every task published (after its commit) instead of sending it: {task name: [args (+ task id)]}."""
    from app import queue

    sent = defaultdict(list)

    def record(task_name, *args, task_id=None, queue=None):  # the queue is the embedder's (tests/integration)
        sent[task_name].append((*args, task_id) if task_id else args)

    monkeypatch.setattr(queue, "send", record)
    return sent


@pytest.fixture
def dispatched(sent_tasks):
    """The dispatches published, as (batch_id, namespace, task_id)."""
    return sent_tasks["batchery.dispatch_batch"]


@pytest.fixture
def enqueued_deliveries(sent_tasks):
    """The webhook deliveries published, as (event_id, target)."""
    return sent_tasks["batchery.deliver_webhook"]


@pytest.fixture
def keyed_app(settings_overrides, fake_redis):
    """The Flask app with real API-key authentication (AUTH_DISABLED off)."""
    application = create_app({**settings_overrides, "AUTH_DISABLED": False})
    yield application
    db.dispose_engine()


@pytest.fixture
def keyed_client(keyed_app):
    """A test client for the keyed app; send headers from `key_headers`."""
    return keyed_app.test_client()


@pytest.fixture
def key_headers(keyed_app):
    """Make an API key for a namespace and return the headers that carry it (Bearer by default)."""
    from app.access import keys

    def make(namespace: str = "team-a", style: str = "bearer") -> dict:
        _key_id, plaintext = keys.create_key(namespace)
        return {"Authorization": f"Bearer {plaintext}"} if style == "bearer" else {"X-Api-Key": plaintext}

    return make
