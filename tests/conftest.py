"""Shared fixtures: a Flask app on a SQLite file with fakeredis, its test client, and a recorded dispatch."""
import fakeredis
import pytest

from app import create_app, db
from app.redis_client import use_redis


@pytest.fixture
def settings_overrides(tmp_path):
    """Settings for an isolated app: its own data directory and SQLite file."""
    return {
        "AUTH_DISABLED": True,
        "BATCHERY_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'batchery.sqlite3'}",
        "REDIS_PREFIX": "test:",
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
def dispatched(monkeypatch):
    """Record dispatches instead of publishing them: the stub broker of the API tests."""
    import tasks.batch

    calls = []
    monkeypatch.setattr(tasks.batch, "dispatch",
                        lambda batch_id, task_id, namespace=None: calls.append((batch_id, task_id)))
    return calls


@pytest.fixture
def enqueued_deliveries(monkeypatch):
    """Record webhook delivery enqueues instead of publishing them."""
    import tasks.webhooks

    calls = []
    monkeypatch.setattr(tasks.webhooks, "enqueue_delivery", lambda event_id, target: calls.append((event_id, target)))
    return calls


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
