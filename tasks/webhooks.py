"""Webhook deliveries: one small signed-POST task per (event, target), retried with exponential backoff."""
import logging

from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from app.queue import celery_app
from app.notifications import delivery, webhooks

log = logging.getLogger(__name__)


def enqueue_delivery(event_id: str, target: str) -> None:
    """Publish one delivery task (a tiny message; nothing waits for its result)."""
    deliver_webhook.apply_async((event_id, target), ignore_result=True)


def announce(batch_id: str | None = None, settled_seconds: int = 0) -> int:
    """Enqueue deliveries of not-yet-announced events (call after the commit); never raises, returns how many."""
    try:
        pending = webhooks.unannounced(batch_id, settled_seconds)
        for event_id, targets in pending:
            for target in targets:
                enqueue_delivery(event_id, target)
        webhooks.mark_announced([event_id for event_id, _ in pending])
        return sum(len(targets) for _, targets in pending)
    except Exception:  # the batch must never fail for a webhook; the periodic sweep announces it later
        log.exception("could not announce the events of %s", batch_id or "any batch")
        return 0


@celery_app.task(bind=True, name="batchery.deliver_webhook", ignore_result=True, acks_late=True,
                 reject_on_worker_lost=True, max_retries=None,
                 autoretry_for=(OperationalError, RedisError), retry_backoff=True, retry_jitter=True)
def deliver_webhook(self, event_id: str, target: str) -> str:
    """POST one signed event to one target (a webhook id, or "batch" for the batch's own URL); retry on non-2xx."""
    outcome = delivery.attempt_delivery(event_id, target, attempt=self.request.retries + 1)
    if outcome == delivery.RETRYING:
        raise self.retry(countdown=delivery.backoff_seconds(self.request.retries + 1))
    return outcome


@celery_app.task(name="batchery.announce_events", ignore_result=True)
def announce_events() -> int:
    """Beat: enqueue deliveries whose announcement was lost between a commit and its enqueue."""
    return announce(settled_seconds=60)
