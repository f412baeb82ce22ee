"""The pipeline: dispatch_batch builds a chord of embed_pack and embed_object tasks whose callback is finalize_batch."""
import logging
import time

from billiard.exceptions import SoftTimeLimitExceeded
from celery import chord
from celery.backends.redis import RedisBackend

from app.batches import items, lifecycle, packs
from app.queue import backoff_seconds, celery_app, send
from app.settings import get_settings

log = logging.getLogger(__name__)

# Worth another try: the database was busy or a connection dropped. Anything else is the file's fault.
TRANSIENT = items.TRANSIENT_ERRORS


def _part_options(queue: str) -> dict:
    """Options of the chord's parts: the embedder's queue, and no stored result when the backend is Redis.

    Redis joins a chord from what each part sends it as it ends (on_chord_part_return carries the part's
    result), and finalize_batch reads the truth from the database: a stored result is a Redis write and
    publish, and 24 h of an extended result, that nothing reads (files that run alone: about 5% more items/s
    in bench_pipeline). A backend that joins by polling stored results (chord_unlock) needs them.
    """
    return {"queue": queue, "ignore_result": True} if isinstance(celery_app.backend, RedisBackend) else {"queue": queue}


@celery_app.task(name="batchery.dispatch_batch", ignore_result=True, acks_late=True, reject_on_worker_lost=True,
                 autoretry_for=TRANSIENT, retry_backoff=2, retry_backoff_max=60, retry_jitter=True, max_retries=5)
def dispatch_batch(batch_id: str, namespace: str) -> None:
    """Move the batch to PROCESSING and fan out packs of small files and lone large ones, joined by finalize_batch."""
    fanout = lifecycle.start_processing(batch_id, namespace)
    if not fanout.item_ids:
        return
    plan = packs.plan_work(list(fanout.item_ids))
    # The collection's embedder decides which workers embed its items (fanout.queue).
    options = _part_options(fanout.queue)
    header = [embed_pack.si(batch_id, pack, namespace).set(**options) for pack in plan.packs]
    header += [embed_object.si(batch_id, item_id, namespace).set(**options) for item_id in plan.solo]
    chord(header)(finalize_batch.si(batch_id, namespace))
    log.info("dispatched %s items of %s in %s packs and %s lone tasks", len(fanout.item_ids), batch_id,
             len(plan.packs), len(plan.solo))


def _deadline(task) -> float | None:
    """time.monotonic() of the task's soft limit: it catches a limit whose exception a library swallowed."""
    return time.monotonic() + task.soft_time_limit if task.soft_time_limit else None


@celery_app.task(bind=True, name="batchery.embed_pack", acks_late=True, reject_on_worker_lost=True,
                 autoretry_for=TRANSIENT, retry_backoff=2, retry_backoff_max=60, retry_jitter=True, max_retries=5)
def embed_pack(self, batch_id: str, item_ids: list[int], namespace: str) -> dict:
    """Embed a pack of small files; files a dead delivery left behind, or that hit a transient error, go alone."""
    result = packs.process_pack(batch_id, item_ids, namespace, (SoftTimeLimitExceeded,), _deadline(self))
    if result.handoff:
        log.warning("pack of %s: %s items of %s sent again one by one", len(item_ids), len(result.handoff), batch_id)
        for item_id in result.handoff:
            # Outside the chord: the last of them to finish finalizes the batch (embed_object below).
            send("batchery.embed_object", batch_id, item_id, namespace,
                 queue=(self.request.delivery_info or {}).get("routing_key"))   # the pack's own (embedder's) queue
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
            raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries, 2.0, 60.0))
        log.error("item %s of %s gave up after %s attempts: %s", item_id, batch_id, attempts, exc)
        summary = {"item_id": item_id, "status": items.give_up(item_id, f"{type(exc).__name__}: {exc}", attempts)}
    if self.request.chord is None:   # handed off by a pack, or re-sent by the reaper: the last one finalizes
        lifecycle.finalize_if_settled(batch_id, namespace)
    return summary


@celery_app.task(name="batchery.finalize_batch", acks_late=True, reject_on_worker_lost=True,
                 autoretry_for=TRANSIENT, retry_backoff=2, retry_backoff_max=60, retry_jitter=True, max_retries=10)
def finalize_batch(batch_id: str, namespace: str) -> str | None:
    """Chord callback: aggregate the batch's items from the database into its final status (events announced after)."""
    return lifecycle.finalize_batch(batch_id, namespace).status
