"""Beat task: sweep the search cache (idle matrices of this process, stale cached collection counts)."""
from app.queue import celery_app
from app.collections import search_cache


@celery_app.task(name="batchery.sweep_search_cache", acks_late=True, expires=600)
def sweep_search_cache() -> dict:
    """Evict idle search matrices and cached counts of outdated index signatures; returns the counts."""
    return search_cache.sweep()
