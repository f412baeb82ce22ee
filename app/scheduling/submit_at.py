"""One-off scheduled submissions: a DRAFT batch with `submit_at` is submitted once that time has come."""
import logging

from sqlalchemy import select, update

from app.db import session_scope
from app.errors import EmptyBatch, InvalidState, NotFound
from app.models import Batch, BatchStatus, utcnow
from app.batches.lifecycle import Submission, submit_batch

log = logging.getLogger(__name__)


def _unschedule_empty(batch_id: str, now) -> None:
    """An empty batch cannot be submitted: drop its schedule and say why, instead of retrying forever."""
    with session_scope() as session:
        session.execute(update(Batch).where(
            Batch.id == batch_id, Batch.status == BatchStatus.DRAFT, Batch.total_items == 0,
        ).values(submit_at=None, updated_at=now,
                 error=f"The submission scheduled for {now:%Y-%m-%d %H:%M:%S} UTC was skipped: "
                       "the batch had no objects."))


def submit_due_batches(now=None, limit: int = 500) -> list[Submission]:
    """Submit every DRAFT batch whose submit_at has passed; returns the submissions that started."""
    now = now or utcnow()
    with session_scope() as session:
        due = session.execute(select(Batch.id, Batch.namespace).where(
            Batch.status == BatchStatus.DRAFT, Batch.submit_at <= now).order_by(Batch.submit_at).limit(limit)).all()
    started = []
    for batch_id, namespace in due:
        try:
            submission = submit_batch(namespace, batch_id)  # DRAFT → QUEUED is conditional: two beats start it once
        except EmptyBatch:
            _unschedule_empty(batch_id, now)
            continue
        except (InvalidState, NotFound):  # cancelled or deleted meanwhile
            continue
        if submission.started:
            started.append(submission)
    return started
