"""The pipeline: dispatch_batch builds a chord of embed_object tasks whose callback is finalize_batch."""
import logging
import time

from billiard.exceptions import SoftTimeLimitExceeded
from celery import chord

from app.batches import items, lifecycle
from app.queue import backoff_seconds, celery_app
from app.settings import get_settings

log = logging.getLogger(__name__)

# Worth another try: the database was busy or a connection dropped. Anything else is the file's fault.
TRANSIENT = items.TRANSIENT_ERRORS


@celery_app.task(name="batchery.dispatch_batch", ignore_result=True, acks_late=True, reject_on_worker_lost=True,
                 autoretry_for=TRANSIENT, retry_backoff=2, retry_backoff_max=60, retry_jitter=True, max_retries=5)
def dispatch_batch(batch_id: str, namespace: str) -> None:
    """Move the batch to PROCESSING and fan out one embed_object per pending item, joined by finalize_batch."""
    fanout = lifecycle.start_processing(batch_id, namespace)
    if not fanout.item_ids:
        return
    chord([embed_object.si(batch_id, item_id, namespace).set(queue=fanout.queue) for item_id in fanout.item_ids])(
        finalize_batch.si(batch_id, namespace))
    log.info("dispatched %s items of %s", len(fanout.item_ids), batch_id)


@celery_app.task(bind=True, name="batchery.embed_object", acks_late=True, reject_on_worker_lost=True,
                 max_retries=None)
def embed_object(self, batch_id: str, item_id: int, namespace: str) -> dict:
    """Embed one object of a batch; returns only {item_id, status} (never vectors)."""
    # The soft limit (celeryconfig's task_annotations) raises SoftTimeLimitExceeded once; the deadline
    # catches the case where a library swallowed it.
    deadline = time.monotonic() + self.soft_time_limit if self.soft_time_limit else None
    try:
        return items.process_item(item_id, namespace, timeout_errors=(SoftTimeLimitExceeded,), deadline=deadline)
    except TRANSIENT as exc:
        attempts = self.request.retries + 1
        if attempts >= get_settings().ITEM_MAX_ATTEMPTS:
            log.error("item %s of %s gave up after %s attempts: %s", item_id, batch_id, attempts, exc)
            return {"item_id": item_id, "status": items.give_up(item_id, f"{type(exc).__name__}: {exc}", attempts)}
        raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries, 2.0, 60.0))


@celery_app.task(name="batchery.finalize_batch", acks_late=True, reject_on_worker_lost=True,
                 autoretry_for=TRANSIENT, retry_backoff=2, retry_backoff_max=60, retry_jitter=True, max_retries=10)
def finalize_batch(batch_id: str, namespace: str) -> str | None:
    """Chord callback: aggregate the batch's items from the database into its final status (events announced after)."""
    return lifecycle.finalize_batch(batch_id, namespace).status
