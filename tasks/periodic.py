"""Beat tasks: scheduled submissions, the reaper that re-sends lost work, and cleanup (entries in celeryconfig)."""
import logging

from app.queue import celery_app
from app.maintenance import cleanup, reaper
from app.scheduling import runs, submit_at
from app.progress.metrics import queue_depth
from tasks.batch import dispatch, send_alone
from tasks.webhooks import announce

log = logging.getLogger(__name__)


def _dispatch_all(submissions) -> int:
    """Enqueue each started submission and its batch.submitted event; a failed dispatch is left to the reaper."""
    for submission in submissions:
        try:
            dispatch(submission.batch_id, submission.task_id)
        except Exception:
            log.exception("could not enqueue dispatch of %s; the reaper will", submission.batch_id)
        announce(submission.batch_id)
    return len(submissions)


@celery_app.task(name="batchery.run_due_schedules", ignore_result=True)
def run_due_schedules() -> int:
    """Run every due schedule tick once and dispatch the batches it created."""
    return _dispatch_all(runs.run_due_schedules())


@celery_app.task(name="batchery.submit_scheduled_batches", ignore_result=True)
def submit_scheduled_batches() -> int:
    """Submit DRAFT batches whose submit_at has come, and dispatch them."""
    return _dispatch_all(submit_at.submit_due_batches())


@celery_app.task(name="batchery.reap", ignore_result=True)
def reap() -> dict:
    """Reconcile from the database: re-send lost dispatches and items, quarantine, finalize, rebuild Redis."""
    depth = queue_depth(celery_app.conf.broker_url, celery_app.conf.task_default_queue)
    found = reaper.reconcile(queue_empty=depth == 0)   # NaN (not Redis, unreachable) is not empty
    for batch_id, task_id in found.batches:
        dispatch(batch_id, task_id)
    for batch_id, item_id, namespace in found.items:
        # Outside the chord on purpose: the last of them to finish (or the reaper) finalizes the batch.
        send_alone(batch_id, [item_id], namespace)
    for batch_id in found.finalized:
        announce(batch_id)   # the final events a chord callback would have announced
    return found.summary()


@celery_app.task(name="batchery.cleanup", ignore_result=True)
def clean_up() -> dict:
    """Remove expired drafts, orphaned stored files and old schedule runs."""
    return cleanup.clean_up()
