"""The one Celery app, configured from Settings; publishing tasks by name; fork safety for worker processes."""
from celery import Celery, signals

from app.settings import Settings

celery_app = Celery("batchery")
celery_app.config_from_object("celeryconfig")


def configure_celery(settings: Settings) -> Celery:
    """Flask's celery_init_app: the Celery app takes its configuration from the same Settings as Flask."""
    celery_app.conf.update(settings.celery_config())
    celery_app.close()  # connections opened under the previous configuration are not reused
    return celery_app


def send(task_name: str, *args, task_id: str | None = None) -> None:
    """Publish a task by its name (app code never imports tasks/); nothing waits for its result."""
    # ignore_result: a web process must not subscribe to result channels (see README, "Processes").
    celery_app.send_task(task_name, args=args, task_id=task_id, ignore_result=True)


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
