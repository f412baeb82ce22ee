"""Webhook deliveries: one small signed-POST task per (event, target), retried with exponential backoff."""
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from app.notifications import delivery, webhooks
from app.queue import celery_app


@celery_app.task(bind=True, name="batchery.deliver_webhook", ignore_result=True, acks_late=True,
                 reject_on_worker_lost=True, max_retries=None,
                 autoretry_for=(OperationalError, RedisError), retry_backoff=2, retry_backoff_max=60, retry_jitter=True)
def deliver_webhook(self, event_id: str, target: str) -> str:
    """POST one signed event to one target (a webhook id, or "batch" for the batch's own URL); retry on non-2xx."""
    outcome = delivery.attempt_delivery(event_id, target, attempt=self.request.retries + 1)
    if outcome == delivery.RETRYING:
        raise self.retry(countdown=delivery.backoff_seconds(self.request.retries + 1))
    return outcome


@celery_app.task(name="batchery.announce_events", ignore_result=True)
def announce_events() -> int:
    """Beat: enqueue deliveries whose announcement was lost between a commit and its enqueue."""
    return webhooks.announce(settled_seconds=60)
