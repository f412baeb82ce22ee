"""Celery configuration: data only. Broker and backend come from the environment."""
import os

from app.config import load_settings

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
worker_prefetch_multiplier = 1
# A child that finished a task above this resident size (KiB) is replaced: one huge file cannot pin memory.
worker_max_memory_per_child = load_settings().WORKER_MAX_MEMORY_PER_CHILD_KB or None
task_track_started = True
result_expires = 24 * 3600
result_extended = True

# Flower and `celery events` see every task with its name and arguments.
worker_send_task_events = True
task_send_sent_event = True

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
    "reap": _every(float(os.environ.get("REAPER_INTERVAL_SECONDS", "60")), "batchery.reap"),
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
task_annotations = {"batchery.embed_object": {"soft_time_limit": _item_limit, "time_limit": _item_limit + 30}}
