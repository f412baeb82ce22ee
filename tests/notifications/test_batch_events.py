"""Events are recorded once per transition (SQLite + fakeredis), and announced to their targets once."""
import pytest
from sqlalchemy import select, update

from app.db import session_scope
from app.errors import InvalidState
from app.models import Batch, BatchEvent, BatchItem, BatchStatus, ItemStatus
from app.notifications import events, webhooks
from app.batches import lifecycle
from schemas.webhooks import EVENT_TYPES
from tests.helpers import new_batch, text_objects


@pytest.fixture
def settings_overrides(settings_overrides):
    """Loopback webhook URLs are allowed here."""
    return {**settings_overrides, "WEBHOOK_ALLOW_PRIVATE": True}


def recorded(batch_id):
    """(type, data) of the batch's events in stream order."""
    with session_scope() as session:
        return [(e.type, e.data) for e in session.scalars(
            select(BatchEvent).where(BatchEvent.batch_id == batch_id).order_by(BatchEvent.id))]


def finish_items(batch_id, status, chunks=2):
    """Pretend the workers finished every item, and the batch is PROCESSING."""
    with session_scope() as session:
        session.execute(update(BatchItem).where(BatchItem.batch_id == batch_id).values(status=status, chunks=chunks))
        session.execute(update(Batch).where(Batch.id == batch_id).values(status=BatchStatus.PROCESSING))


def test_submit_and_finalize_record_each_event_once(client):
    batch = new_batch(client, text_objects(client, 3))
    assert lifecycle.submit_batch("default", batch["batch_id"]).started
    assert not lifecycle.submit_batch("default", batch["batch_id"]).started
    finish_items(batch["batch_id"], ItemStatus.SUCCEEDED, chunks=2)
    assert lifecycle.finalize_batch(batch["batch_id"], "default").changed
    assert not lifecycle.finalize_batch(batch["batch_id"], "default").changed   # a redelivered callback

    types = [t for t, _ in recorded(batch["batch_id"])]
    assert types == ["batch.submitted", "collection.documents.written", "batch.completed"]
    data = dict(recorded(batch["batch_id"]))
    assert data["batch.submitted"]["status"] == "QUEUED" and data["batch.submitted"]["counts"]["total"] == 3
    assert data["collection.documents.written"] == {"batch_id": batch["batch_id"], "collection_id": "docs",
                                                    "documents": 3, "vectors": 6}
    assert data["batch.completed"]["status"] == "COMPLETED" and data["batch.completed"]["counts"]["succeeded"] == 3


def test_every_item_failing_records_batch_failed_and_no_documents(client):
    batch = new_batch(client, text_objects(client, 2))
    lifecycle.submit_batch("default", batch["batch_id"])
    finish_items(batch["batch_id"], ItemStatus.FAILED, chunks=None)
    lifecycle.finalize_batch(batch["batch_id"], "default")
    assert [t for t, _ in recorded(batch["batch_id"])] == ["batch.submitted", "batch.failed"]
    assert dict(recorded(batch["batch_id"]))["batch.failed"]["error"] == "Every item failed."


def test_cancel_records_once_and_a_draft_never_submitted(client):
    batch = new_batch(client, text_objects(client, 2))
    lifecycle.cancel_batch("default", batch["batch_id"])
    with pytest.raises(InvalidState):
        lifecycle.cancel_batch("default", batch["batch_id"])
    assert recorded(batch["batch_id"]) == [("batch.cancelled", {
        "batch_id": batch["batch_id"], "collection_id": "docs", "status": "CANCELLED", "previous_state": "DRAFT",
        "counts": {"total": 2, "succeeded": 0, "skipped": 0, "failed": 0, "cancelled": 2}})]


def test_a_duplicate_record_call_writes_nothing(client):
    batch = new_batch(client, text_objects(client, 1))
    with session_scope() as session:
        row = session.get(Batch, batch["batch_id"])
        assert events.record(session, row, "batch.submitted", status="QUEUED")
        assert not events.record(session, row, "batch.submitted", status="QUEUED")
    assert len(recorded(batch["batch_id"])) == 1


def test_announce_sends_each_event_to_its_targets_once(client, enqueued_deliveries, monkeypatch):
    from app.notifications import events
    from app.notifications.webhooks import announce

    completed_only = webhooks.create_webhook("default", "http://127.0.0.1:9/a", ["batch.completed"])
    everything = webhooks.create_webhook("default", "http://127.0.0.1:9/b", list(EVENT_TYPES))
    webhooks.create_webhook("elsewhere", "http://127.0.0.1:9/c", list(EVENT_TYPES))
    batch = new_batch(client, text_objects(client, 1), webhook_url="http://127.0.0.1:9/own")
    with monkeypatch.context() as lost:  # a crash between the commit and its announcement
        lost.setattr(events, "announce", lambda batch_id: None)
        lifecycle.submit_batch("default", batch["batch_id"])
    assert enqueued_deliveries == []
    assert announce(settled_seconds=60) == 0           # the sweep leaves fresh events to their announcer
    assert announce(batch["batch_id"]) == 2
    submitted = recorded_ids(batch["batch_id"])["batch.submitted"]
    assert enqueued_deliveries == [(submitted, "batch"), (submitted, everything["webhook_id"])]
    assert announce(batch["batch_id"]) == 0             # already announced
    finish_items(batch["batch_id"], ItemStatus.SUCCEEDED)
    lifecycle.finalize_batch(batch["batch_id"], "default")   # announces once its commit landed
    ids = recorded_ids(batch["batch_id"])
    assert (ids["batch.completed"], completed_only["webhook_id"]) in enqueued_deliveries
    assert len(enqueued_deliveries) == 2 + 2 + 3       # documents.written: 2 targets, completed: 3


def recorded_ids(batch_id):
    """type → event_id."""
    with session_scope() as session:
        return {e.type: e.event_id for e in session.scalars(select(BatchEvent).where(BatchEvent.batch_id == batch_id))}
