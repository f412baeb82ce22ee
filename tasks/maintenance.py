"""Housekeeping run by beat: forget expired idempotency records."""
from app.queue import celery_app
from app.access.idempotency import purge_expired


@celery_app.task(name="batchery.purge_idempotency_records", ignore_result=True, acks_late=True)
def purge_idempotency_records() -> int:
    """Delete idempotency records past their expiry; returns how many."""
    return purge_expired()
