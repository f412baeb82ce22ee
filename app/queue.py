"""The one Celery app, configured from celeryconfig; fork safety for worker processes."""
from celery import Celery, signals

celery_app = Celery("batchery")
celery_app.config_from_object("celeryconfig")


@signals.worker_process_init.connect
def _fresh_connections_after_fork(**_):
    """A forked worker child must not share the parent's database, Redis or S3 sockets."""
    from app import db, redis_client
    from app.objects import storage

    db.dispose_engine()
    redis_client.use_redis(None)
    storage.forget_clients()


@signals.worker_init.connect
def _prepare_database(**_):
    """The worker can start before the API has ever run: make sure the tables exist."""
    from app import db

    db.create_schema()
    db.dispose_engine()


def point_celery_at(broker_url: str | None = None, result_backend: str | None = None) -> None:
    """Re-point the app at another broker/backend (tests, embedded stack), dropping cached pools."""
    if broker_url:
        celery_app.conf.broker_url = broker_url
    if result_backend:
        celery_app.conf.result_backend = result_backend
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
