"""Housekeeping run by beat: forget expired idempotency records and cached counts of outdated collections."""
from app.access.idempotency import purge_expired
from app.collections.catalog import sweep_stale_stats
from app.queue import celery_app


@celery_app.task(name="batchery.purge_idempotency_records", ignore_result=True, acks_late=True)
def purge_idempotency_records() -> int:
    """Delete idempotency records past their expiry; returns how many."""
    return purge_expired()


@celery_app.task(name="batchery.sweep_search_cache", acks_late=True, expires=600)
def sweep_search_cache() -> int:
    """Drop Redis-cached collection counts of outdated index signatures; returns how many.

    Search matrices live in the web processes, which evict their idle ones on every search.
    """
    return sweep_stale_stats()
