"""The one Celery app, configured from celeryconfig; fork safety for worker processes."""
from celery import Celery, signals

celery_app = Celery("batchery")
celery_app.config_from_object("celeryconfig")


@signals.worker_process_init.connect
def _fresh_connections_after_fork(**_):
    """A forked worker child must not share the parent's database or Redis sockets."""
    from app import db, redis_client

    db.dispose_engine()
    redis_client.use_redis(None)


@signals.worker_init.connect
def _prepare_database(**_):
    """The worker can start before the API has ever run: make sure the tables exist."""
    from app import db

    db.create_schema()
    db.dispose_engine()


@signals.after_setup_logger.connect
def _per_task_lines_at_debug(loglevel=None, **_):
    """Celery's per-task 'received'/'succeeded' lines show only at DEBUG: INFO keeps one line per batch."""
    import logging

    if loglevel is None or loglevel > logging.DEBUG:
        for name in ("celery.app.trace", "celery.worker.strategy"):
            logging.getLogger(name).setLevel(logging.WARNING)


def point_celery_at(broker_url: str | None = None, result_backend: str | None = None) -> None:
    """Re-point the app at another broker/backend (tests, embedded stack), dropping cached pools."""
    if broker_url:
        celery_app.conf.broker_url = broker_url
    if result_backend:
        celery_app.conf.result_backend = result_backend
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
