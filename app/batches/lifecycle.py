"""Batch status moves: submit, dispatch, cancel, finalize. Every move is a conditional UPDATE, so repeats are harmless."""
import logging
from dataclasses import dataclass

from sqlalchemy import select, update

from app import queue
from app.db import publish_after_commit, session_scope
from app.errors import EmptyBatch, InvalidState
from app.models import Batch, BatchItem, BatchStatus, ItemStatus, new_id, utcnow
from app.models.status import CANCELLABLE_BATCH, FINISHED_BATCH, OPEN_ITEM, RUNNING_BATCH
from app.notifications import events
from app.notifications.batch_changes import mark_changed_after_commit
from app.collections.catalog import embed_queues
from app.collections.embedders import DEFAULT_QUEUE
from app.batches.catalog import load_batch
from app.progress.metrics import count_item_outcomes
from app.progress.counters import count_items_in_db, processed, store_counts
from app.progress.task_status import write_task_status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    """What a submit did: `started` is true only for the call that moved DRAFT → QUEUED."""

    batch_id: str
    task_id: str
    status: str
    started: bool


@dataclass(frozen=True)
class Fanout:
    """What dispatch starts: the PENDING items of a batch that just moved QUEUED → PROCESSING (none if it did not)."""

    batch_id: str
    namespace: str
    item_ids: tuple[int, ...] = ()
    queue: str = DEFAULT_QUEUE          # the collection's embedder decides which workers embed its items


def dispatch_after_commit(session, batch_id: str, namespace: str, task_id: str) -> None:
    """Once this transaction commits, send the one dispatch task that builds the batch's chord on a worker."""
    # A lost publish leaves the batch QUEUED in the database, and the reaper dispatches it again.
    publish_after_commit(session, queue.send, "batchery.dispatch_batch", batch_id, namespace, task_id=task_id)


def _set_status(session, batch_id: str, new: str, allowed, **values) -> bool:
    """Move a batch to `new` only if it is in one of `allowed`; true if this call made the move."""
    result = session.execute(
        update(Batch).where(Batch.id == batch_id, Batch.status.in_(list(allowed)))
        .values(status=new, updated_at=utcnow(), **values)
    )
    if result.rowcount != 1:
        return False
    mark_changed_after_commit(session, batch_id)
    return True


def submit_batch(namespace: str, batch_id: str, include_processing_history: bool = False) -> Submission:
    """DRAFT → QUEUED with a new task id; a repeat returns the same task id and starts nothing."""
    with session_scope() as session:
        batch = load_batch(session, namespace, batch_id)
        if batch.status in RUNNING_BATCH:
            return Submission(batch.id, batch.task_id, batch.status, False)
        if batch.status != BatchStatus.DRAFT:
            raise InvalidState(f"A {batch.status} batch cannot be submitted.", {"status": batch.status})
        if batch.total_items == 0:
            raise EmptyBatch("The batch has no objects; add objects before submitting.")
        task_id = new_id("tsk")
        moved = _set_status(session, batch.id, BatchStatus.QUEUED, {BatchStatus.DRAFT}, task_id=task_id,
                            submitted_at=utcnow(), include_processing_history=bool(include_processing_history))
        if not moved:  # a concurrent submit won the race: answer with its task id
            session.rollback()
            return submit_batch(namespace, batch_id, include_processing_history)
        counts = count_items_in_db(session, batch.id)
        events.record(session, batch, "batch.submitted", counts, status=BatchStatus.QUEUED, task_id=task_id)
        dispatch_after_commit(session, batch.id, namespace, task_id)
    store_counts(batch_id, counts)
    write_task_status(task_id, batch_id, namespace, BatchStatus.QUEUED)
    return Submission(batch_id, task_id, BatchStatus.QUEUED, True)


def _other_namespace(session, batch_id: str, namespace: str) -> bool:
    """True when a task names a namespace the batch is not in (it then touches nothing)."""
    if session.scalar(select(Batch.namespace).where(Batch.id == batch_id)) == namespace:
        return False
    log.warning("task for batch %s names namespace %s, which is not the batch's; ignored", batch_id, namespace)
    return True


def start_processing(batch_id: str, namespace: str) -> Fanout:
    """QUEUED → PROCESSING; returns the items to fan out, none if already started, cancelled or another namespace's."""
    with session_scope() as session:
        if _other_namespace(session, batch_id, namespace) or not _set_status(
                session, batch_id, BatchStatus.PROCESSING, {BatchStatus.QUEUED}, started_at=utcnow()):
            return Fanout(batch_id, namespace)
        task_id = session.scalar(select(Batch.task_id).where(Batch.id == batch_id))
        ids = session.scalars(select(BatchItem.id).where(
            BatchItem.batch_id == batch_id, BatchItem.status == ItemStatus.PENDING).order_by(BatchItem.id)).all()
        queue = embed_queues(session, [batch_id])[batch_id]
    write_task_status(task_id, batch_id, namespace, BatchStatus.PROCESSING)
    return Fanout(batch_id, namespace, tuple(ids), queue)


def cancel_open_items(session, batch_id: str) -> int:
    """Items not yet finished end CANCELLED; returns how many."""
    result = session.execute(
        update(BatchItem).where(BatchItem.batch_id == batch_id, BatchItem.status.in_(list(OPEN_ITEM)))
        .values(status=ItemStatus.CANCELLED, finished_at=utcnow(), updated_at=utcnow())
    )
    return result.rowcount or 0


def cancel_batch(namespace: str, batch_id: str) -> dict:
    """DRAFT/QUEUED/PROCESSING → CANCELLED; pending items end CANCELLED, finished ones keep their results."""
    with session_scope() as session:
        batch = load_batch(session, namespace, batch_id)
        previous = batch.status
        if previous not in CANCELLABLE_BATCH or not _set_status(
                session, batch.id, BatchStatus.CANCELLED, CANCELLABLE_BATCH, completed_at=utcnow()):
            session.rollback()
            current = session.get(Batch, batch_id).status
            raise InvalidState(f"A {current} batch cannot be cancelled.", {"status": current})
        # Items a worker holds right now finish on their own; the rest are cancelled here.
        cancelled = session.execute(
            update(BatchItem).where(BatchItem.batch_id == batch.id, BatchItem.status == ItemStatus.PENDING)
            .values(status=ItemStatus.CANCELLED, finished_at=utcnow(), updated_at=utcnow())
        ).rowcount or 0
        counts = count_items_in_db(session, batch.id)
        events.record(session, batch, "batch.cancelled", counts, status=BatchStatus.CANCELLED, previous_state=previous)
        task_id = batch.task_id
    store_counts(batch_id, counts)
    count_item_outcomes(ItemStatus.CANCELLED, cancelled)
    if task_id:
        write_task_status(task_id, batch_id, namespace, BatchStatus.CANCELLED)
    return {"batch_id": batch_id, "previous_state": previous, "current_state": BatchStatus.CANCELLED}


def final_status(counts: dict) -> str | None:
    """The finished status the item counts call for, or None while items are still open."""
    if processed(counts) < counts["total"]:
        return None
    if counts["failed"] and counts["failed"] == counts["total"]:
        return BatchStatus.FAILED
    if counts["failed"]:
        return BatchStatus.COMPLETED_WITH_ERRORS
    return BatchStatus.COMPLETED


def finalize_if_settled(batch_id: str, namespace: str | None = None) -> bool:
    """Finalize a running batch that has no open item left; true when this call finished it."""
    with session_scope() as session:
        open_left = session.scalar(select(BatchItem.id).where(
            BatchItem.batch_id == batch_id, BatchItem.status.in_(list(OPEN_ITEM))).limit(1))
        status = session.scalar(select(Batch.status).where(Batch.id == batch_id))
    if open_left is not None or status not in RUNNING_BATCH:
        return False
    return finalize_batch(batch_id, namespace).changed


@dataclass(frozen=True)
class Finalization:
    """The batch's status after finalize, and whether this call is the one that finished it."""

    status: str | None
    changed: bool


def finalize_batch(batch_id: str, namespace: str) -> Finalization:
    """Aggregate the items (read from the database) into the batch's final status; safe to run twice."""
    with session_scope() as session:
        batch = session.get(Batch, batch_id)
        if batch is None or _other_namespace(session, batch_id, namespace):
            return Finalization(None, False)
        cancelled = cancel_open_items(session, batch_id) if batch.status == BatchStatus.CANCELLED else 0
        counts = count_items_in_db(session, batch_id)
        if batch.status in FINISHED_BATCH:
            status, changed = batch.status, False
        else:
            status = final_status(counts)
            if status is None:
                log.warning("finalize of %s found %s open items; the last of them (or the reaper) finishes it",
                            batch_id,
                            counts["total"] - processed(counts))
                return Finalization(batch.status, False)
            error = "Every item failed." if status == BatchStatus.FAILED else None
            changed = _set_status(session, batch_id, status, RUNNING_BATCH, completed_at=utcnow(), error=error)
        events.record_finalization(session, batch, status, changed, counts)
        task_id, namespace = batch.task_id, batch.namespace
    store_counts(batch_id, counts)
    count_item_outcomes(ItemStatus.CANCELLED, cancelled)
    if task_id:
        write_task_status(task_id, batch_id, namespace, status)
    return Finalization(status, changed)
