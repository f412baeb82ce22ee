"""Beat tasks: scheduled submissions, the reaper that re-sends lost work, and cleanup (periods in app.settings)."""
import logging

from app.maintenance import cleanup, reaper
from app.progress.metrics import queue_depth
from app.queue import celery_app
from app.scheduling import runs, submit_at
from app.settings import WORK_QUEUE, get_settings

log = logging.getLogger(__name__)


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
    settings = get_settings()
    depth = queue_depth(celery_app.conf.broker_url, settings.REDIS_PREFIX + WORK_QUEUE)
    summary = reaper.reconcile(queue_empty=depth == 0).summary()   # NaN (not Redis, unreachable) is not empty
    log.info("reaper pass: %s", summary)   # one line per tick (Celery's per-task lines are DEBUG only)
    return summary


@celery_app.task(name="batchery.cleanup", ignore_result=True)
def clean_up() -> dict:
    """Remove expired drafts, orphaned stored files and old schedule runs."""
    return cleanup.clean_up()
