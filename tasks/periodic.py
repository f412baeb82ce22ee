"""Beat tasks: scheduled submissions, the reaper that re-sends lost work, and cleanup (periods in app.settings)."""
from app.maintenance import cleanup, reaper
from app.queue import celery_app
from app.scheduling import runs, submit_at


@celery_app.task(name="batchery.run_due_schedules", ignore_result=True)
def run_due_schedules() -> int:
    """Run every due schedule tick once; each started batch is dispatched after its submit commits."""
    return len(runs.run_due_schedules())


@celery_app.task(name="batchery.submit_scheduled_batches", ignore_result=True)
def submit_scheduled_batches() -> int:
    """Submit DRAFT batches whose submit_at has come; each is dispatched after its submit commits."""
    return len(submit_at.submit_due_batches())


@celery_app.task(name="batchery.reap", ignore_result=True)
def reap() -> dict:
    """Reconcile from the database: re-send lost dispatches and items, quarantine, finalize, rebuild Redis."""
    return reaper.reconcile().summary()


@celery_app.task(name="batchery.cleanup", ignore_result=True)
def clean_up() -> dict:
    """Remove expired drafts, orphaned stored files and old schedule runs."""
    return cleanup.clean_up()
