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
worker_prefetch_multiplier = 1
task_track_started = True
result_expires = 24 * 3600
result_extended = True

# Flower and `celery events` see every task with its name and arguments.
worker_send_task_events = True
task_send_sent_event = True

task_default_queue = "batchery"
task_routes = {
    "batchery.dispatch_batch": {"queue": "batchery"},
    "batchery.embed_object": {"queue": "batchery"},
    "batchery.finalize_batch": {"queue": "batchery"},
    "batchery.purge_idempotency_records": {"queue": "batchery"},
    "batchery.deliver_webhook": {"queue": "batchery"},
    "batchery.announce_events": {"queue": "batchery"},
}

beat_schedule: dict = {}
beat_schedule["purge-idempotency-records"] = {"task": "batchery.purge_idempotency_records", "schedule": 3600.0}

# Periodic tasks get a queue of their own so a backlog of embed_object never delays the reaper or a schedule.
task_queues = {
    "batchery": {"exchange": "batchery", "routing_key": "batchery"},
    "batchery.periodic": {"exchange": "batchery.periodic", "routing_key": "batchery.periodic"},
}
_periodic = {"queue": "batchery.periodic"}
task_routes.update({
    "batchery.run_due_schedules": _periodic,
    "batchery.submit_scheduled_batches": _periodic,
    "batchery.reap": _periodic,
    "batchery.cleanup": _periodic,
})

# Every tick expires after its period: one that waited that long is dropped, the next does the same work.
_scheduler_every = float(os.environ.get("SCHEDULER_INTERVAL_SECONDS", "15"))
_reaper_every = float(os.environ.get("REAPER_INTERVAL_SECONDS", "60"))
_cleanup_every = float(os.environ.get("CLEANUP_INTERVAL_SECONDS", "3600"))
beat_schedule.update({
    "run-due-schedules": {"task": "batchery.run_due_schedules", "schedule": _scheduler_every,
                          "options": {"expires": _scheduler_every}},
    "submit-scheduled-batches": {"task": "batchery.submit_scheduled_batches", "schedule": _scheduler_every,
                                 "options": {"expires": _scheduler_every}},
    "reap": {"task": "batchery.reap", "schedule": _reaper_every, "options": {"expires": _reaper_every}},
    "cleanup": {"task": "batchery.cleanup", "schedule": _cleanup_every, "options": {"expires": _cleanup_every}},
})

# One slow or hostile file must not hold a worker forever: a soft limit ends the item as `timeout`.
_item_limit = int(os.environ.get("ITEM_SOFT_TIME_LIMIT_SECONDS", "300"))
task_annotations = {"batchery.embed_object": {"soft_time_limit": _item_limit, "time_limit": _item_limit + 30}}

# Idle search matrices and cached collection counts of old index signatures are dropped periodically.
beat_schedule["batchery.sweep_search_cache"] = {
    "task": "batchery.sweep_search_cache",
    "schedule": float(os.environ.get("SEARCH_CACHE_SWEEP_SECONDS", "300")),
}

# Webhook deliveries whose enqueue was lost (a crash right after a commit) go out within a minute or two.
beat_schedule["announce-webhook-events"] = {"task": "batchery.announce_events", "schedule": 60.0}
