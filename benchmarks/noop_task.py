"""A task that does nothing, loaded into the benchmark's worker (`--include benchmarks.noop_task`): bare Celery cost."""
from app.queue import celery_app


@celery_app.task(name="bench.noop", acks_late=True, reject_on_worker_lost=True)
def noop(*_args) -> None:
    """Nothing: what a per-file chord costs without any of Batchery's work."""
