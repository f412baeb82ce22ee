"""Batch events: recorded once per (batch, type) inside the transaction of the transition; read by webhooks and SSE."""
from sqlalchemy import func, select

from app.db import insert_ignoring_duplicates, publish_after_commit, session_scope
from app.models import BatchEvent, BatchItem, BatchStatus, ItemStatus, new_id, utcnow
from app.models.status import FINISHED_BATCH
from app.notifications.batch_changes import mark_changed_after_commit
from app.notifications.webhooks import announce

# The events after which a batch has nothing more to say on its event stream.
TERMINAL_TYPES = frozenset({"batch.completed", "batch.failed", "batch.cancelled"})
_FINAL_TYPE = {
    BatchStatus.COMPLETED: "batch.completed", BatchStatus.COMPLETED_WITH_ERRORS: "batch.completed",
    BatchStatus.FAILED: "batch.failed", BatchStatus.CANCELLED: "batch.cancelled",
}


def summary(counts: dict) -> dict:
    """The item counters an event carries."""
    return {k: counts[k] for k in ("total", "succeeded", "skipped", "failed", "cancelled")}


def record(session, batch, event_type: str, counts: dict | None = None, **data) -> bool:
    """Write the batch's event of this type unless it exists (with the item counters); true when this call wrote it.

    The event's webhook deliveries are announced after the commit (the events table is the outbox).
    """
    if counts is not None:
        data["counts"] = summary(counts)
    publish_after_commit(session, announce, batch.id)
    mark_changed_after_commit(session, batch.id)
    return insert_ignoring_duplicates(session, BatchEvent, [{
        "event_id": new_id("evt"), "namespace": batch.namespace, "batch_id": batch.id, "type": event_type,
        "data": {"batch_id": batch.id, "collection_id": batch.collection_id, **data}, "created_at": utcnow(),
    }]) == 1


def record_finalization(session, batch, status: str, changed: bool, counts: dict) -> None:
    """At finalize: the documents that landed (if any), then the final event when this call finished the batch."""
    # Announced every time, so a redelivered finalize sends what a crashed one recorded.
    publish_after_commit(session, announce, batch.id)
    if status in FINISHED_BATCH and counts["succeeded"]:
        vectors = session.scalar(select(func.coalesce(func.sum(BatchItem.chunks), 0)).where(
            BatchItem.batch_id == batch.id, BatchItem.status == ItemStatus.SUCCEEDED))
        record(session, batch, "collection.documents.written", documents=counts["succeeded"], vectors=int(vectors))
    if changed and status in _FINAL_TYPE:
        error = "Every item failed." if status == BatchStatus.FAILED else None
        record(session, batch, _FINAL_TYPE[status], counts, status=status, error=error)


def event_body(event: BatchEvent) -> dict:
    """The public shape of an event: what webhooks POST and the event stream sends."""
    return {"event_id": event.event_id, "type": event.type, "created_at": event.created_at.isoformat(),
            "data": event.data or {}}


def events_after(batch_id: str, after_id: int, limit: int = 200) -> list[tuple[int, dict]]:
    """The batch's events with a stream id above `after_id`, oldest first, as (id, body)."""
    with session_scope() as session:
        rows = session.scalars(select(BatchEvent).where(BatchEvent.batch_id == batch_id, BatchEvent.id > after_id)
                               .order_by(BatchEvent.id).limit(limit)).all()
        return [(row.id, event_body(row)) for row in rows]
