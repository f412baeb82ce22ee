"""The one configuration source: settings read from the environment, and the Celery configuration built from them."""
import os
from dataclasses import dataclass, fields
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
WORK_QUEUE = "batchery"
PERIODIC_QUEUE = "batchery.periodic"
WORK_TASKS = ("batchery.dispatch_batch", "batchery.embed_pack", "batchery.embed_object", "batchery.finalize_batch",
              "batchery.deliver_webhook")


@dataclass(frozen=True)
class Settings:
    """Every knob of Batchery; each field can be set by the environment variable of the same name."""

    BATCHERY_DATA_DIR: str = "./var"
    BATCHERY_STORAGE_URL: str = ""         # file:///path or s3://bucket/prefix; default: $BATCHERY_DATA_DIR/objects
    BATCHERY_S3_ENDPOINT_URL: str = ""     # an S3-compatible store (MinIO, Ceph, moto); empty: AWS itself
    DATABASE_URL: str = ""                 # default: sqlite file under BATCHERY_DATA_DIR
    REDIS_URL: str = "redis://127.0.0.1:6379/0"
    REDIS_PREFIX: str = "batchery:"       # keeps test runs and deployments sharing a Redis apart
    CELERY_BROKER_URL: str = ""            # default: REDIS_URL
    CELERY_RESULT_BACKEND: str = ""        # default: REDIS_URL
    AUTH_DISABLED: bool = False
    PORT: int = 8000
    TASK_STATUS_TTL_SECONDS: int = 24 * 3600
    MAX_CONTENT_LENGTH: int = 100 * 1024 * 1024
    ITEM_MAX_ATTEMPTS: int = 3
    ITEM_SOFT_TIME_LIMIT_SECONDS: int = 300
    # Small files travel in packs (one task, one claim and one store transaction for many files).
    PACK_MAX_ITEMS: int = 50
    PACK_MAX_BYTES: int = 1024 * 1024
    PACK_MAX_FILE_BYTES: int = 256 * 1024   # larger files (and PDFs, audio) keep a task of their own
    STALL_SECONDS: int = 300
    MAX_BATCH_OBJECTS: int = 10_000
    MAX_BATCH_BYTES: int = 5 * 1024 ** 3
    MAX_FILE_BYTES: int = 50 * 1024 * 1024
    MAX_MULTIPART_PARTS: int = 1000
    MAX_METADATA_BYTES: int = 16 * 1024    # `metadata` of one object or batch, as compact UTF-8 JSON
    # Per-item budgets of the extractors: one hostile file must not become millions of rows or gigabytes.
    MAX_ITEM_CHARS: int = 10_000_000       # characters of text extracted from one file
    MAX_ITEM_CHUNKS: int = 10_000          # chunks (vectors) of one file
    MAX_IMAGE_PIXELS: int = 40_000_000     # decoded pixels of one image (JPEGs decode at a reduced scale)
    WORKER_MAX_MEMORY_PER_CHILD_KB: int = 524_288  # a worker child left above this resident size (KiB) is replaced
    RATE_LIMIT_PER_MINUTE: int = 600       # per API key (per namespace with auth off); 0 turns it off
    RATE_LIMIT_BURST: int = 120            # requests a quiet key may send at once
    IDEMPOTENCY_TTL_SECONDS: int = 24 * 3600
    # torch CPU threads per process for minilm-l6 (0: torch's default of one per core). One per process keeps
    # prefork children and web workers from oversubscribing the cores, which slowed a query from 0.13 s to 1.6 s.
    SEMANTIC_CPU_THREADS: int = 1
    SEARCH_CACHE_TTL_SECONDS: int = 900      # idle search matrices are dropped, cached counts expire
    SEARCH_CACHE_MAX_COLLECTIONS: int = 16   # search matrices kept per process (least recently used go)
    SEARCH_MATRIX_MAX_ROWS: int = 250_000    # above this a modality is searched without a matrix in memory
    SEARCH_CACHE_SWEEP_SECONDS: int = 300    # how often beat drops cached counts of outdated signatures
    RATE_WINDOW_SECONDS: int = 120         # items_per_second is the rate over this recent window
    HEALTH_ERROR_RATIO: float = 0.1        # failed/processed above this → degraded
    HEALTH_SLOW_RATIO: float = 0.25        # recent rate below this fraction of the batch's average → degraded
    WEBHOOK_ALLOW_PRIVATE: bool = False    # loopback/private webhook targets: development and tests only
    WEBHOOK_MAX_ATTEMPTS: int = 6
    WEBHOOK_BACKOFF_BASE_MS: int = 30_000  # first retry after ~30 s, doubling each time (with jitter)
    WEBHOOK_TIMEOUT_SECONDS: int = 10
    SSE_POLL_MS: int = 500
    SSE_HEARTBEAT_SECONDS: int = 15
    SSE_MAX_SECONDS: int = 3600            # a stream ends after this; clients resume with Last-Event-ID
    SSE_MAX_STREAMS_PER_KEY: int = 10      # open event streams per API key (per namespace with auth off); 0: no cap
    ALLOW_UNAUTHENTICATED_BIND: bool = False  # AUTH_DISABLED=1 on a non-loopback bind: refused unless this is set
    # Scheduling and reconciliation (Celery Beat): the *_INTERVAL_SECONDS are the beat periods.
    SCHEDULER_INTERVAL_SECONDS: int = 15      # how often beat looks for due schedules and submit_at batches
    SCHEDULE_MAX_OBJECTS: int = 5_000         # objects per scheduled batch; the rest go in the next tick
    REAPER_INTERVAL_SECONDS: int = 30
    ITEM_LEASE_SECONDS: int = 60              # silence after which work is presumed lost (running items renew it)
    CLEANUP_INTERVAL_SECONDS: int = 3600
    DRAFT_TTL_SECONDS: int = 7 * 24 * 3600    # an untouched, unscheduled DRAFT batch is deleted after this
    ORPHAN_FILE_GRACE_SECONDS: int = 3600     # a stored file no object references is deleted after this
    SCHEDULE_RUN_TTL_SECONDS: int = 30 * 24 * 3600

    @property
    def database_url(self) -> str:
        """The configured database, or a SQLite file in the data directory."""
        if self.DATABASE_URL:
            return self.DATABASE_URL
        return f"sqlite:///{Path(self.BATCHERY_DATA_DIR).resolve() / 'batchery.sqlite3'}"

    @property
    def objects_dir(self) -> Path:
        """Where the default file storage keeps uploaded files under generated names."""
        return Path(self.BATCHERY_DATA_DIR).resolve() / "objects"

    @property
    def storage_url(self) -> str:
        """The configured object storage, or the objects directory under the data directory."""
        return self.BATCHERY_STORAGE_URL or self.objects_dir.as_uri()

    def celery_config(self) -> dict:
        """Celery's settings (lowercase names) built from these: celeryconfig.py and create_app both use this."""
        item_limit = self.ITEM_SOFT_TIME_LIMIT_SECONDS
        return {
            "broker_url": self.CELERY_BROKER_URL or self.REDIS_URL,
            "result_backend": self.CELERY_RESULT_BACKEND or self.REDIS_URL,
            "broker_connection_retry_on_startup": True,
            # A message a worker took but never acknowledged comes back after this long (longest task ≪ this).
            # Every Celery key carries REDIS_PREFIX (kombu: queues, bindings, unacked sets, broadcast channels;
            # Celery: result keys), so deployments sharing one Redis database never take each other's tasks.
            "broker_transport_options": {"visibility_timeout": 3600, "global_keyprefix": self.REDIS_PREFIX},
            "result_backend_transport_options": {"retry_policy": {"timeout": 5.0},
                                                 "global_keyprefix": self.REDIS_PREFIX},
            "task_serializer": "json", "result_serializer": "json", "accept_content": ["json"],
            "timezone": "UTC", "enable_utc": True,
            # At-least-once delivery: acknowledge after the work, and redeliver if the worker process dies.
            # With acks_late a prefetched message waits unacknowledged behind a running one; one per process keeps
            # a killed worker's share of the queue small (small files travel in packs, so fetches are shared).
            "task_acks_late": True, "task_reject_on_worker_lost": True, "worker_prefetch_multiplier": 1,
            # A child that ended a task above this resident size (KiB) is replaced: one huge file cannot pin memory.
            "worker_max_memory_per_child": self.WORKER_MAX_MEMORY_PER_CHILD_KB or None,
            # No STARTED state: a backend write per task that nothing reads (progress lives in the database and
            # the counters). Extended results (name, args, worker) stay for the tasks that store a result; the
            # chord's parts store none (tasks/batch.py).
            "task_track_started": False, "result_expires": 24 * 3600, "result_extended": True,
            # Task events cost a publish per task; Flower switches them on in the workers it watches
            # (enable_events every few seconds), so they flow only while someone looks.
            "worker_send_task_events": False, "task_send_sent_event": False,
            "task_default_queue": WORK_QUEUE,
            # Periodic tasks get a queue of their own so a backlog of embed_object never delays the reaper.
            "task_queues": {queue: {"exchange": queue, "routing_key": queue} for queue in (WORK_QUEUE, PERIODIC_QUEUE)},
            "task_routes": {**{name: {"queue": WORK_QUEUE} for name in WORK_TASKS},
                            **{name: {"queue": PERIODIC_QUEUE} for name in self.beat_periods()}},
            # Broadcasts (ping, Flower's control) and task events: RabbitMQ's exchanges carry the prefix like its
            # queues do (DeploymentQueues), so deployments sharing a vhost stay apart; Redis prefixes them itself.
            "control_exchange": self._broker_name_prefix() + "celery",
            "event_exchange": self._broker_name_prefix() + "celeryev",
            "beat_schedule": {entry: _every(seconds, name) for name, (entry, seconds) in self.beat_periods().items()},
            # Celery's file-backed scheduler, making its schedule file's folder first (a new volume has none).
            "beat_scheduler": "app.scheduling.beat_file:FolderCreatingScheduler",
            # One slow or hostile file must not hold a worker forever: a soft limit ends the item as `timeout`.
            # A pack gets the same limit: it holds only small files, and the files it has not reached when
            # the limit fires are sent again one by one.
            "task_annotations": {name: {"soft_time_limit": item_limit, "time_limit": item_limit + 30}
                                 for name in ("batchery.embed_object", "batchery.embed_pack")},
        }

    def _broker_name_prefix(self) -> str:
        """What Batchery puts in front of broker names: REDIS_PREFIX on RabbitMQ, nothing on Redis (kombu does)."""
        return self.REDIS_PREFIX if names_carry_prefix(self.CELERY_BROKER_URL or self.REDIS_URL) else ""

    def beat_periods(self) -> dict[str, tuple[str, float]]:
        """Every periodic task: its beat entry name and period in seconds."""
        return {
            "batchery.run_due_schedules": ("run-due-schedules", self.SCHEDULER_INTERVAL_SECONDS),
            "batchery.submit_scheduled_batches": ("submit-scheduled-batches", self.SCHEDULER_INTERVAL_SECONDS),
            # Reconciliation: lost work is re-dispatched, missed callbacks run, Redis state is rebuilt.
            "batchery.reap": ("reap", self.REAPER_INTERVAL_SECONDS),
            "batchery.cleanup": ("cleanup", self.CLEANUP_INTERVAL_SECONDS),
            "batchery.purge_idempotency_records": ("purge-idempotency-records", 3600),
            # Cached collection counts of old index signatures are dropped periodically.
            "batchery.sweep_search_cache": ("sweep-search-cache", self.SEARCH_CACHE_SWEEP_SECONDS),
            # Webhook deliveries whose enqueue was lost (a crash right after a commit) go out within a minute or two.
            "batchery.announce_events": ("announce-webhook-events", 60),
        }


def names_carry_prefix(broker_url: str | None) -> bool:
    """True for RabbitMQ: kombu's global_keyprefix prefixes every Redis key, AMQP has no such option, so Batchery puts
    REDIS_PREFIX into the names of its queues and exchanges there itself."""
    return (broker_url or "").split("://", 1)[0] in ("amqp", "amqps", "pyamqp")


def _every(seconds: float, task: str) -> dict:
    """A beat entry whose tick expires after its period: a tick that waited that long is dropped, the next does its work."""
    return {"task": task, "schedule": float(seconds), "options": {"expires": float(seconds)}}


def _coerce(kind, raw):
    """Turn an environment string into the field's type."""
    if kind is bool or kind == "bool":
        return raw if isinstance(raw, bool) else str(raw).strip().lower() in _TRUE
    if kind is int or kind == "int":
        return int(raw)
    if kind is float or kind == "float":
        return float(raw)
    return raw


def load_settings(overrides: dict | None = None, environ=os.environ) -> Settings:
    """Defaults, then the environment, then explicit overrides (tests)."""
    values = {}
    for f in fields(Settings):
        if f.name in environ:
            values[f.name] = _coerce(f.type, environ[f.name])
    types = {f.name: f.type for f in fields(Settings)}
    for key, value in (overrides or {}).items():
        if key in types:
            values[key] = _coerce(types[key], value)
    return Settings(**values)


_current: Settings | None = None


def configure(settings: Settings) -> Settings:
    """Install the settings every service reads (called by create_app and the worker)."""
    global _current
    _current = settings
    return settings


def get_settings() -> Settings:
    """The installed settings, loading them from the environment on first use."""
    return _current if _current is not None else configure(load_settings())

