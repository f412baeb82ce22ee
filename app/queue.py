"""The one Celery app, configured from Settings; publishing tasks by name; the retry policy; fork safety."""
import random
from functools import partial

from celery import Celery, signals
from celery.app.amqp import AMQP, Queues
from kombu import Exchange, Queue

from app.settings import Settings, names_carry_prefix


class DeploymentQueues(Queues):
    """Celery's queues under Batchery's names ("batchery", "batchery.semantic": routes, `-Q`, routing keys), each
    declared on the broker as prefix + name with an exchange of the same name where the transport does not prefix
    names itself (RabbitMQ); on Redis kombu's global_keyprefix already does, and the prefix here is empty."""

    def __init__(self, queues=None, prefix: str = "", **options):
        self.prefix = prefix
        super().__init__(queues, **options)

    def _add(self, queue: Queue) -> Queue:
        if self.prefix and queue.alias is None:   # Batchery's name becomes the alias of the broker's
            name = self.prefix + queue.name
            queue = Queue(name, Exchange(name, type=queue.exchange.type if queue.exchange else "direct"),
                          routing_key=queue.routing_key or queue.name, alias=queue.name,
                          queue_arguments=queue.queue_arguments)
        return super()._add(queue)


class DeploymentAMQP(AMQP):
    """Celery's AMQP helper building DeploymentQueues with the deployment prefix of the configured broker."""

    @property
    def queues_cls(self):
        conf = self.app.conf
        prefix = conf.broker_transport_options.get("global_keyprefix", "")
        return partial(DeploymentQueues, prefix=prefix if names_carry_prefix(conf.broker_url) else "")


celery_app = Celery("batchery", amqp=DeploymentAMQP)
celery_app.config_from_object("celeryconfig")


def configure_celery(settings: Settings) -> Celery:
    """Flask's celery_init_app: the Celery app takes its configuration from the same Settings as Flask."""
    celery_app.conf.update(settings.celery_config())
    celery_app.close()  # connections opened under the previous configuration are not reused
    # close() drops only the connection pool: the producer pool and the result backend (which fixes its key
    # prefix when built) would keep the previous broker options, so they are built again too.
    celery_app.amqp._producer_pool = None
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)
    # Queue and broadcast names depend on the broker and the prefix (DeploymentQueues): built again from the new ones.
    for cached in ("queues", "default_queue", "router"):
        celery_app.amqp.__dict__.pop(cached, None)
    celery_app.amqp.flush_routes()
    celery_app.__dict__.pop("control", None)
    return celery_app


def key_prefix() -> str:
    """The prefix of Celery's broker keys (a queue's list is named prefix + queue)."""
    return celery_app.conf.broker_transport_options.get("global_keyprefix", "")


def send(task_name: str, *args, task_id: str | None = None, queue: str | None = None) -> None:
    """Publish a task by name (app code never imports tasks/) to `queue` or its routed one; nothing waits for it."""
    # ignore_result: a web process must not subscribe to result channels (see README, "Processes").
    celery_app.send_task(task_name, args=args, task_id=task_id, ignore_result=True, queue=queue)


def backoff_seconds(retries: int, base: float, cap: float) -> float:
    """The one retry policy: exponential backoff with full jitter, a random delay up to min(cap, base × 2^retries)."""
    # Celery's retry_backoff=<base>, retry_backoff_max=<cap>, retry_jitter=True computes the same for autoretry_for.
    return random.uniform(0, min(cap, base * 2 ** retries))


@signals.worker_process_init.connect
def _fresh_connections_after_fork(**_):
    """A forked worker child must not share the parent's database, Redis or S3 sockets."""
    from app import db, redis_client
    from app.objects import storage

    db.dispose_engine()
    redis_client.use_redis(None)
    storage.forget_clients()


@signals.worker_init.connect
def _refuse_an_outdated_database(**_):
    """A worker never runs against a schema its code was not written for (`batchery db upgrade` first)."""
    from app import db

    try:
        db.ensure_schema_current()
    except db.SchemaOutOfDate as exc:
        raise SystemExit(f"batchery worker: {exc}") from None  # Celery logs and swallows any Exception here
    finally:
        db.dispose_engine()


@signals.after_setup_logger.connect
def _per_task_lines_at_debug(loglevel=None, **_):
    """Celery's per-task 'received'/'succeeded' lines show only at DEBUG: INFO keeps one line per batch."""
    import logging

    if loglevel is None or loglevel > logging.DEBUG:
        for name in ("celery.app.trace", "celery.worker.strategy"):
            logging.getLogger(name).setLevel(logging.WARNING)
