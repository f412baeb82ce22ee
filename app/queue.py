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


def point_celery_at(broker_url: str | None = None, result_backend: str | None = None) -> None:
    """Re-point the app at another broker/backend (tests, embedded stack), dropping cached pools."""
    if broker_url:
        celery_app.conf.broker_url = broker_url
    if result_backend:
        celery_app.conf.result_backend = result_backend
    _forget_connections()


def use_key_prefix(prefix: str) -> None:
    """Prefix Celery's broker and result keys with the deployment's REDIS_PREFIX (the API's settings may differ)."""
    conf = celery_app.conf
    if conf.broker_transport_options.get("global_keyprefix") == prefix:
        return
    conf.broker_transport_options = {**conf.broker_transport_options, "global_keyprefix": prefix}
    conf.result_backend_transport_options = {**conf.result_backend_transport_options, "global_keyprefix": prefix}
    _forget_connections()


def key_prefix() -> str:
    """The prefix of Celery's broker keys (queue lists are named prefix + queue)."""
    return celery_app.conf.broker_transport_options.get("global_keyprefix", "")


def _forget_connections() -> None:
    """Drop cached pools and the result backend so the next use builds them from the current configuration."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)
