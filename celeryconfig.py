"""Celery configuration: data only. Broker and backend come from the environment."""
import os

_redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

broker_url = os.environ.get("CELERY_BROKER_URL", _redis)
result_backend = os.environ.get("CELERY_RESULT_BACKEND", _redis)
broker_connection_retry_on_startup = True
# A message a worker took but never acknowledged comes back after this long (longest task ≪ this).
broker_transport_options = {"visibility_timeout": 3600}
result_backend_transport_options = {"retry_policy": {"timeout": 5.0}}

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

# At-least-once delivery: acknowledge after the work, and redeliver if the worker process dies.
task_acks_late = True
task_reject_on_worker_lost = True
# With acks_late a prefetched message waits unacknowledged behind a running one; one per process keeps a
# killed worker's share of the queue small (small files travel in packs, so the fetch cost is shared anyway).
worker_prefetch_multiplier = 1
# No STARTED state and no task name/args copied into each result: a round trip and ~1 KB of Redis per task
# that nothing reads (progress lives in the database and the counters).
task_track_started = False
result_expires = 24 * 3600
result_extended = False

# Task events cost a publish per task; Flower switches them on in the workers it watches (enable_events
# every few seconds), so they flow only while someone looks.
worker_send_task_events = False
task_send_sent_event = False

task_default_queue = "batchery"
# Periodic tasks get a queue of their own so a backlog of embed_object never delays the reaper or a schedule.
task_queues = {
    "batchery": {"exchange": "batchery", "routing_key": "batchery"},
    "batchery.periodic": {"exchange": "batchery.periodic", "routing_key": "batchery.periodic"},
}
_work = {"queue": "batchery"}
_periodic = {"queue": "batchery.periodic"}
task_routes = {
    "batchery.dispatch_batch": _work,
    "batchery.embed_object": _work,
    "batchery.embed_pack": _work,
    "batchery.finalize_batch": _work,
    "batchery.deliver_webhook": _work,
    "batchery.run_due_schedules": _periodic,
    "batchery.submit_scheduled_batches": _periodic,
    "batchery.reap": _periodic,
    "batchery.cleanup": _periodic,
    "batchery.purge_idempotency_records": _periodic,
    "batchery.sweep_search_cache": _periodic,
    "batchery.announce_events": _periodic,
}


def _every(seconds: float, task: str) -> dict:
    """A beat entry whose tick expires after its period: a tick that waited that long is dropped, the next does its work."""
    return {"task": task, "schedule": seconds, "options": {"expires": seconds}}


_scheduler_every = float(os.environ.get("SCHEDULER_INTERVAL_SECONDS", "15"))
beat_schedule = {
    "run-due-schedules": _every(_scheduler_every, "batchery.run_due_schedules"),
    "submit-scheduled-batches": _every(_scheduler_every, "batchery.submit_scheduled_batches"),
    # Reconciliation: lost work is re-dispatched, missed callbacks run, Redis state is rebuilt.
    "reap": _every(float(os.environ.get("REAPER_INTERVAL_SECONDS", "30")), "batchery.reap"),
    "cleanup": _every(float(os.environ.get("CLEANUP_INTERVAL_SECONDS", "3600")), "batchery.cleanup"),
    "purge-idempotency-records": _every(3600.0, "batchery.purge_idempotency_records"),
    # Idle search matrices and cached collection counts of old index signatures are dropped periodically.
    "sweep-search-cache": _every(float(os.environ.get("SEARCH_CACHE_SWEEP_SECONDS", "300")),
                                 "batchery.sweep_search_cache"),
    # Webhook deliveries whose enqueue was lost (a crash right after a commit) go out within a minute or two.
    "announce-webhook-events": _every(60.0, "batchery.announce_events"),
}

# One slow or hostile file must not hold a worker forever: a soft limit ends the item as `timeout`.
_item_limit = int(os.environ.get("ITEM_SOFT_TIME_LIMIT_SECONDS", "300"))
# A pack gets the same limit: it holds only small files, and the files it has not reached when the limit
# fires are sent again one by one.
_limits = {"soft_time_limit": _item_limit, "time_limit": _item_limit + 30}
task_annotations = {"batchery.embed_object": _limits, "batchery.embed_pack": _limits}
