"""publish_after_commit: what a unit of work asks to publish goes out once it committed, never after a rollback."""
import pytest

from app.db import publish_after_commit, session_scope
from app.models import Collection, utcnow


def collection(name: str) -> Collection:
    """A row to commit."""
    return Collection(namespace="default", collection_id=name, dimensions=8, created_at=utcnow(), updated_at=utcnow())


def test_publishes_after_the_commit_and_only_once_per_request(app):
    published = []

    def publish(name):
        with session_scope() as session:   # the row is visible to whoever the message reaches
            published.append((name, session.get(Collection, ("default", name)) is not None))

    with session_scope() as session:
        session.add(collection("a"))
        publish_after_commit(session, publish, "a")
        publish_after_commit(session, publish, "a")   # the same announcement twice in one transaction is one
        assert published == []
    assert published == [("a", True)]


def test_a_rolled_back_unit_of_work_publishes_nothing(app):
    published = []
    with pytest.raises(RuntimeError):
        with session_scope() as session:
            session.add(collection("b"))
            publish_after_commit(session, published.append, "b")
            raise RuntimeError("the request failed")
    with session_scope() as session:
        session.add(collection("c"))
    assert published == []


def test_a_failing_publish_never_fails_the_committed_work(app, caplog):
    def broker_down(*_):
        raise ConnectionError("broker down")

    with session_scope() as session:
        session.add(collection("d"))
        publish_after_commit(session, broker_down)
    with session_scope() as session:
        assert session.get(Collection, ("default", "d")) is not None
    assert "reconciliation will redo it" in caplog.text
