"""Firing due schedules: each tick runs exactly once, even with two beats or after a late restart."""
import logging
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.settings import get_settings
from app.db import insert_ignoring_duplicates, session_scope
from app.errors import BatcheryError
from app.models import Batch, BatchItem, BatchStatus, ItemStatus, Schedule, ScheduleRun, StoredObject, utcnow
from app.models.status import OPEN_ITEM, RUNNING_BATCH
from app.batches.catalog import attach_objects
from app.collections.catalog import ensure_collection
from app.batches.lifecycle import Submission, submit_batch
from app.scheduling.schedules import next_fire_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tick:
    """What one schedule tick did: the batch it created (None when nothing was new)."""

    schedule_id: str
    namespace: str
    run_at: object
    batch_id: str | None
    objects: int


def _covered_objects(namespace: str, collection_id: str):
    """Object ids the collection already has, or that are on their way there (running or scheduled batches)."""
    return select(BatchItem.object_id).join(Batch, Batch.id == BatchItem.batch_id).where(
        Batch.namespace == namespace, Batch.collection_id == collection_id,
        or_(BatchItem.status.in_([ItemStatus.SUCCEEDED, ItemStatus.SKIPPED]),
            and_(Batch.status.in_(list(RUNNING_BATCH)), BatchItem.status.in_(list(OPEN_ITEM))),
            and_(Batch.status == BatchStatus.DRAFT, Batch.submit_at.is_not(None))))


def new_objects(session, schedule: Schedule, limit: int) -> list[StoredObject]:
    """The bucket's objects with no successful result in the collection yet, oldest first."""
    return list(session.scalars(select(StoredObject).where(
        StoredObject.namespace == schedule.namespace, StoredObject.bucket == schedule.bucket,
        StoredObject.id.not_in(_covered_objects(schedule.namespace, schedule.collection_id)),
    ).order_by(StoredObject.id).limit(limit)))


def _advance(session, schedule: Schedule, expected, now) -> bool:
    """Compare-and-set next_run_at from the tick we saw to the next future tick; only one caller wins."""
    result = session.execute(update(Schedule).where(
        Schedule.id == schedule.id, Schedule.enabled.is_(True), Schedule.next_run_at == expected,
    ).values(next_run_at=next_fire_time(schedule.cron, now), updated_at=now))
    return result.rowcount == 1


def _fire(schedule_id: str, expected, now) -> Tick | None:
    """Claim the tick, pick the new objects and create their batch (scheduled for the tick) in one transaction."""
    with session_scope() as session:
        schedule = session.get(Schedule, schedule_id)
        if schedule is None or not _advance(session, schedule, expected, now):
            return None  # another beat (or an edit) got there first
        objects = new_objects(session, schedule, get_settings().SCHEDULE_MAX_OBJECTS)
        batch_id = None
        if objects:
            # submit_at = the tick: if we die before submitting, the scheduled-submission sweep submits it.
            batch = Batch(namespace=schedule.namespace, collection_id=schedule.collection_id, status=BatchStatus.DRAFT,
                          name=f"{schedule.name} · {expected:%Y-%m-%d %H:%M} UTC", submit_at=expected,
                          metadata_={"schedule_id": schedule.id, "run_at": expected.isoformat()})
            session.add(batch)
            session.flush()
            ensure_collection(session, schedule.namespace, schedule.collection_id)
            attach_objects(session, batch, objects)
            batch_id = batch.id
        session.add(ScheduleRun(schedule_id=schedule.id, run_at=expected, recorded_at=now, batch_id=batch_id,
                                objects=len(objects)))
        return Tick(schedule.id, schedule.namespace, expected, batch_id, len(objects))


def _record_failure(schedule_id: str, expected, now, message: str) -> None:
    """A tick that could not run still advances and leaves a run with the error (unless one exists): no retry loop."""
    with session_scope() as session:
        schedule = session.get(Schedule, schedule_id)
        if schedule is not None and _advance(session, schedule, expected, now):
            insert_ignoring_duplicates(session, ScheduleRun, [{
                "schedule_id": schedule_id, "run_at": expected, "recorded_at": now, "batch_id": None,
                "objects": 0, "error": message[:2000]}])


def run_due_schedules(now=None, limit: int = 100) -> list[Submission]:
    """Run every due tick once; returns the submissions that started (each dispatched once its submit committed)."""
    now = now or utcnow()
    with session_scope() as session:
        due = session.execute(select(Schedule.id, Schedule.next_run_at).where(
            Schedule.enabled.is_(True), Schedule.next_run_at <= now).order_by(Schedule.next_run_at).limit(limit)).all()
    started = []
    for schedule_id, expected in due:
        try:
            tick = _fire(schedule_id, expected, now)
        except IntegrityError:  # the run key says this tick already ran (a clock set back): just move on
            log.warning("tick %s of schedule %s already ran; skipping it", expected, schedule_id)
            _record_failure(schedule_id, expected, now, "This tick had already run.")
            continue
        except Exception as exc:  # one broken schedule must not stop the others
            log.exception("schedule %s failed at its %s tick", schedule_id, expected)
            try:
                _record_failure(schedule_id, expected, now, f"{type(exc).__name__}: {exc}")
            except Exception:
                log.exception("could not record the failed tick of %s; it runs again", schedule_id)
            continue
        if tick is None or tick.batch_id is None:
            continue
        try:
            submission = submit_batch(tick.namespace, tick.batch_id)
        except BatcheryError as exc:  # deleted or cancelled in between: the run keeps its batch id
            log.warning("scheduled batch %s of %s was not submitted: %s", tick.batch_id, schedule_id, exc.message)
            continue
        if submission.started:
            started.append(submission)
    return started
