"""Reconciliation from the database: nothing a crash, a lost message or an emptied Redis drops stays lost.

Work is presumed lost when nobody touched it for a lease (ITEM_LEASE_SECONDS; running items renew theirs,
app.batches.lease). Every claim below is a conditional UPDATE that also renews the lease, so two reapers running at
once never hand out the same batch or item twice, and one item is re-sent at most once per lease.
"""
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import exists, func, select, update

from app.settings import get_settings
from app import queue
from app.collections.catalog import embed_queues
from app.db import publish_after_commit, session_scope
from app.models import Batch, BatchItem, BatchStatus, ItemStatus, utcnow
from app.models.status import OPEN_ITEM, RUNNING_BATCH
from app.redis_client import get_redis, key
from app.batches import claims, lifecycle
from app.progress.counters import count_items_in_db, progress_key, store_counts
from app.progress.task_status import write_task_status

log = logging.getLogger(__name__)
_CHUNK = 500


@dataclass
class Reconciliation:
    """What one pass found: work it sent again (after each claim committed) and what it settled itself."""

    batches: list = field(default_factory=list)      # (batch_id, task_id): dispatched again
    items: list = field(default_factory=list)        # (batch_id, item_id, namespace): embedded again
    quarantined: list = field(default_factory=list)  # item ids ended FAILED
    finalized: list = field(default_factory=list)    # batch ids this pass finished
    rebuilt: int = 0                                  # Redis keys recreated

    def summary(self) -> dict:
        """Counts only: a tiny task result."""
        return {"batches": len(self.batches), "items": len(self.items), "quarantined": len(self.quarantined),
                "finalized": len(self.finalized), "rebuilt": self.rebuilt}


def claim_undispatched_batches(cutoff, now) -> list[tuple[str, str]]:
    """QUEUED batches untouched for a lease (the dispatch never arrived) are dispatched again; returns (batch_id, task_id)."""
    with session_scope() as session:
        rows = session.execute(
            update(Batch).where(Batch.status == BatchStatus.QUEUED, Batch.updated_at < cutoff)
            .values(updated_at=now).returning(Batch.id, Batch.task_id, Batch.namespace)
            .execution_options(synchronize_session=False)).all()
        for batch_id, task_id, namespace in rows:
            lifecycle.dispatch_after_commit(session, batch_id, namespace, task_id)
    return [(batch_id, task_id) for batch_id, task_id, _ in rows]


def quarantine_dead_items(cutoff) -> list[int]:
    """Stale PROCESSING items whose worker died on every attempt end FAILED instead of running again."""
    with session_scope() as session:
        ids = session.scalars(select(BatchItem.id).join(Batch, Batch.id == BatchItem.batch_id).where(
            Batch.status.in_(list(RUNNING_BATCH)), BatchItem.status == ItemStatus.PROCESSING,
            BatchItem.updated_at < cutoff, BatchItem.attempts >= get_settings().ITEM_MAX_ATTEMPTS)).all()
    return [item_id for item_id in ids if claims.quarantine_item(item_id, stale_before=cutoff) == ItemStatus.FAILED]


def _lost_item_ids(session, cutoff, quiet_cutoff) -> list[int]:
    """Open items of PROCESSING batches whose message is presumed lost.

    A PROCESSING item untouched for a lease has no heartbeat: its worker is gone. A PENDING item may just
    wait in a long queue, so it counts as lost only when its whole batch has been silent since
    `quiet_cutoff`: a lease, or a third of one (a live item's heartbeat period) once the work queue is empty
    (its message then sat in a dead worker's prefetch).
    """
    dead = session.scalars(select(BatchItem.id).join(Batch, Batch.id == BatchItem.batch_id).where(
        Batch.status == BatchStatus.PROCESSING, BatchItem.status == ItemStatus.PROCESSING,
        BatchItem.updated_at < cutoff, BatchItem.attempts < get_settings().ITEM_MAX_ATTEMPTS)).all()
    # One grouped pass finds the silent batches (a correlated check per item would be quadratic).
    silent = session.scalars(select(BatchItem.batch_id).join(Batch, Batch.id == BatchItem.batch_id).where(
        Batch.status == BatchStatus.PROCESSING, Batch.updated_at < quiet_cutoff,
    ).group_by(BatchItem.batch_id).having(func.max(BatchItem.updated_at) < quiet_cutoff)).all()
    waiting = session.scalars(select(BatchItem.id).where(
        BatchItem.batch_id.in_(silent), BatchItem.status == ItemStatus.PENDING)).all() if silent else []
    return sorted({*dead, *waiting})


def claim_lost_items(cutoff, now, quiet_cutoff=None) -> list[tuple[str, int, str]]:
    """Renew the lease of lost items (conditionally), send each again, and return (batch_id, item_id, namespace)."""
    quiet_cutoff = max(cutoff, quiet_cutoff or cutoff)
    with session_scope() as session:
        ids = _lost_item_ids(session, cutoff, quiet_cutoff)
    claimed = []
    for start in range(0, len(ids), _CHUNK):
        with session_scope() as session:
            rows = session.execute(
                update(BatchItem).where(BatchItem.id.in_(ids[start:start + _CHUNK]),
                                        BatchItem.status.in_(list(OPEN_ITEM)), BatchItem.updated_at < quiet_cutoff)
                .values(updated_at=now).returning(BatchItem.id, BatchItem.batch_id)
                .execution_options(synchronize_session=False)).all()
            namespaces = dict(session.execute(select(Batch.id, Batch.namespace).where(
                Batch.id.in_({batch_id for _, batch_id in rows}))).all())
            chunk = [(batch_id, item_id, namespaces[batch_id]) for item_id, batch_id in rows]
            queues = embed_queues(session, namespaces)
            for work in chunk:
                # Outside the chord on purpose: the last of them to finish (or the reaper) finalizes the batch.
                publish_after_commit(session, queue.send, "batchery.embed_object", *work, queue=queues[work[0]])
        claimed += chunk
    return claimed


def settle_batches(cutoff) -> list[str]:
    """Finalize running batches with nothing left open, and close items a dead worker left in cancelled batches."""
    open_item = exists().where(BatchItem.batch_id == Batch.id, BatchItem.status.in_(list(OPEN_ITEM)))
    fresh_open_item = exists().where(BatchItem.batch_id == Batch.id, BatchItem.status.in_(list(OPEN_ITEM)),
                                     BatchItem.updated_at >= cutoff)
    with session_scope() as session:
        done = session.execute(select(Batch.id, Batch.namespace).where(
            Batch.status == BatchStatus.PROCESSING, ~open_item)).all()
        abandoned = session.execute(select(Batch.id, Batch.namespace).where(
            Batch.status == BatchStatus.CANCELLED, open_item, ~fresh_open_item)).all()
    for batch_id, namespace in abandoned:
        lifecycle.finalize_batch(batch_id, namespace)  # a cancelled batch's finalize cancels its open items
    return [batch_id for batch_id, namespace in done if lifecycle.finalize_batch(batch_id, namespace).changed]


def _restore_task_status(task_id: str, batch_id: str) -> None:
    """Rewrite a missing task status from the batch row, re-reading it so a racing finalize is not undone."""
    for _ in range(2):
        with session_scope() as session:
            batch = session.get(Batch, batch_id)
            status, namespace, created = batch.status, batch.namespace, batch.submitted_at
        write_task_status(task_id, batch_id, namespace, status, created_at=created)
        with session_scope() as session:
            if session.get(Batch, batch_id).status == status:
                return


def rebuild_redis_state(limit: int = 5000) -> int:
    """Recreate the progress counters and task status of running batches that Redis lost."""
    with session_scope() as session:
        running = session.execute(select(Batch.id, Batch.task_id).where(
            Batch.status.in_(list(RUNNING_BATCH))).order_by(Batch.id).limit(limit)).all()
    if not running:
        return 0
    pipe = get_redis().pipeline()
    for batch_id, task_id in running:
        pipe.hexists(progress_key(batch_id), "total")
        pipe.exists(key("task", task_id))
    present = pipe.execute()
    rebuilt = 0
    for index, (batch_id, task_id) in enumerate(running):
        has_counts, has_status = present[2 * index], present[2 * index + 1]
        if not has_counts:
            with session_scope() as session:
                counts = count_items_in_db(session, batch_id)
            store_counts(batch_id, counts)
            rebuilt += 1
        if not has_status and task_id:
            _restore_task_status(task_id, batch_id)
            rebuilt += 1
    return rebuilt


def reconcile(now=None, queue_empty: bool = False) -> Reconciliation:
    """One reaper pass: lost work is sent again after each claim commits, and finished batches announced.

    `queue_empty`: the caller saw no message waiting in the work queue, so PENDING items of a batch quiet
    for a heartbeat period cannot be waiting in it.
    """
    now = now or utcnow()
    lease = get_settings().ITEM_LEASE_SECONDS
    cutoff = now - timedelta(seconds=lease)
    result = Reconciliation(batches=claim_undispatched_batches(cutoff, now))
    result.quarantined = quarantine_dead_items(cutoff)
    result.items = claim_lost_items(cutoff, now, now - timedelta(seconds=lease / 3) if queue_empty else None)
    result.finalized = settle_batches(cutoff)
    result.rebuilt = rebuild_redis_state()
    if result.batches or result.items or result.quarantined or result.finalized:
        log.warning("reaper: %s", result.summary())
    return result
