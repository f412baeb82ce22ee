"""The pipeline: dispatch_batch builds a chord of embed_pack and embed_object tasks whose callback is finalize_batch."""
import logging
import random
import time

from billiard.exceptions import SoftTimeLimitExceeded
from celery import chord

from app.config import get_settings
from app.queue import celery_app
from app.batches import items, lifecycle, packs
from tasks.webhooks import announce

log = logging.getLogger(__name__)

# Worth another try: the database was busy or a connection dropped. Anything else is the file's fault.
TRANSIENT = items.TRANSIENT_ERRORS


def dispatch(batch_id: str, task_id: str, namespace: str | None = None) -> None:
    """Enqueue the one dispatch task for a committed, QUEUED batch (called by the API after commit)."""
    # ignore_result: the API process must not subscribe to result channels (see README, "Processes").
    dispatch_batch.apply_async((batch_id, namespace), task_id=task_id, ignore_result=True)


def send_alone(batch_id: str, item_ids, namespace: str) -> None:
    """Send items as tasks of their own, outside any chord (the last one to finish finalizes the batch)."""
    for item_id in item_ids:
        embed_object.apply_async((batch_id, item_id, namespace), ignore_result=True)


@celery_app.task(name="batchery.dispatch_batch", ignore_result=True, acks_late=True, reject_on_worker_lost=True,
                 autoretry_for=TRANSIENT, retry_backoff=True, retry_jitter=True, max_retries=5)
def dispatch_batch(batch_id: str, namespace: str | None = None) -> None:
    """Move the batch to PROCESSING and fan out packs of small files and lone large ones, joined by finalize_batch."""
    work = lifecycle.start_processing(batch_id, namespace)
    if not work:
        return
    namespace = work[0][1]
    plan = packs.plan_work([item_id for item_id, _ in work])
    header = [embed_pack.si(batch_id, pack, namespace) for pack in plan.packs]
    header += [embed_object.si(batch_id, item_id, namespace) for item_id in plan.solo]
    chord(header)(finalize_batch.si(batch_id, namespace))
    log.info("dispatched %s items of %s in %s packs and %s lone tasks", len(work), batch_id, len(plan.packs),
             len(plan.solo))


def _backoff(retries: int) -> float:
    """Exponential backoff with full jitter, capped at a minute."""
    return random.uniform(0, min(60.0, 2.0 ** (retries + 1)))


def _deadline(task) -> float | None:
    """time.monotonic() of the task's soft limit: it catches a limit whose exception a library swallowed."""
    return time.monotonic() + task.soft_time_limit if task.soft_time_limit else None


def _settle_outside_chord(task, batch_id: str, namespace: str) -> None:
    """A task outside the chord (handed off, or re-sent by the reaper) finalizes the batch when it was the last."""
    if task.request.chord is None and lifecycle.finalize_if_settled(batch_id, namespace):
        announce(batch_id)


@celery_app.task(bind=True, name="batchery.embed_pack", acks_late=True, reject_on_worker_lost=True,
                 autoretry_for=TRANSIENT, retry_backoff=True, retry_jitter=True, max_retries=5)
def embed_pack(self, batch_id: str, item_ids: list[int], namespace: str) -> dict:
    """Embed a pack of small files; files a dead delivery left behind, or that hit a transient error, go alone."""
    result = packs.process_pack(batch_id, item_ids, namespace, (SoftTimeLimitExceeded,), _deadline(self))
    if result.handoff:
        log.warning("pack of %s: %s items of %s sent again one by one", len(item_ids), len(result.handoff), batch_id)
        send_alone(batch_id, result.handoff, namespace)
    return result.summary()


@celery_app.task(bind=True, name="batchery.embed_object", acks_late=True, reject_on_worker_lost=True,
                 max_retries=None)
def embed_object(self, batch_id: str, item_id: int, namespace: str) -> dict:
    """Embed one object of a batch; returns only {item_id, status} (never vectors)."""
    try:
        summary = items.process_item(item_id, namespace, (SoftTimeLimitExceeded,), _deadline(self))
    except TRANSIENT as exc:
        attempts = self.request.retries + 1
        if attempts < get_settings().ITEM_MAX_ATTEMPTS:
            raise self.retry(exc=exc, countdown=_backoff(self.request.retries))
        log.error("item %s of %s gave up after %s attempts: %s", item_id, batch_id, attempts, exc)
        summary = {"item_id": item_id, "status": items.give_up(item_id, f"{type(exc).__name__}: {exc}", attempts)}
    _settle_outside_chord(self, batch_id, namespace)
    return summary


@celery_app.task(name="batchery.finalize_batch", acks_late=True, reject_on_worker_lost=True,
                 autoretry_for=TRANSIENT, retry_backoff=True, retry_jitter=True, max_retries=10)
def finalize_batch(batch_id: str, namespace: str | None = None) -> str | None:
    """Chord callback: aggregate the batch's items from the database into its final status, then announce events."""
    status = lifecycle.finalize_batch(batch_id, namespace).status
    announce(batch_id)  # every time, so a redelivered finalize sends what a crashed one recorded
    return status
