"""Schedules: validate cron expressions, compute the next tick, create/read/list/change/delete, run history."""
from datetime import datetime

from croniter import croniter
from sqlalchemy import delete, select

from app.db import session_scope
from app.errors import NotFound, ValidationFailed
from app.models import Schedule, ScheduleRun, utcnow
from app.pagination import keyset_page

_ALIASES = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_HINT = "Use five fields (minute hour day-of-month month day-of-week, in UTC), e.g. '*/5 * * * *', or @hourly/@daily."


def _bad_cron(message: str) -> ValidationFailed:
    """The 422 a bad cron expression gets."""
    return ValidationFailed(f"Invalid cron expression: {message}", {"fields": {"cron": [f"{message} {_HINT}"]}})


def next_fire_time(cron: str, after: datetime) -> datetime:
    """The first tick strictly after `after` (UTC); a bad or never-firing expression is a 422."""
    expression = " ".join(cron.split())
    if expression.lower() not in _ALIASES and len(expression.split(" ")) != 5:
        raise _bad_cron(f"'{cron}' does not have exactly five fields.")
    try:
        return croniter(expression, after).get_next(datetime)
    except (ValueError, KeyError, TypeError, IndexError, OverflowError) as exc:
        if "failed to find next date" in str(exc):
            raise _bad_cron(f"'{cron}' never fires (no such date).") from None
        raise _bad_cron(f"'{cron}' is not valid ({exc}).") from None


def describe_schedule(schedule: Schedule) -> dict:
    """The contract's schedule representation."""
    return {
        "schedule_id": schedule.id, "name": schedule.name, "cron": schedule.cron, "bucket": schedule.bucket,
        "collection_id": schedule.collection_id, "enabled": schedule.enabled, "next_run_at": schedule.next_run_at,
        "created_at": schedule.created_at, "updated_at": schedule.updated_at,
    }


def _load(session, namespace: str, schedule_id: str) -> Schedule:
    """A schedule of this namespace, or NotFound (another namespace's id looks unknown)."""
    schedule = session.get(Schedule, schedule_id)
    if schedule is None or schedule.namespace != namespace:
        raise NotFound(f"Schedule {schedule_id} not found.")
    return schedule


def create_schedule(namespace: str, name: str, cron: str, bucket: str, collection_id: str,
                    enabled: bool = True) -> dict:
    """A new schedule; its first tick is the cron's next time after now."""
    next_run_at = next_fire_time(cron, utcnow())
    with session_scope() as session:
        schedule = Schedule(namespace=namespace, name=name, cron=" ".join(cron.split()), bucket=bucket,
                            collection_id=collection_id, enabled=enabled, next_run_at=next_run_at if enabled else None)
        session.add(schedule)
        session.flush()
        return describe_schedule(schedule)


def get_schedule(namespace: str, schedule_id: str) -> dict:
    """One schedule."""
    with session_scope() as session:
        return describe_schedule(_load(session, namespace, schedule_id))


def list_schedules(namespace: str, limit: int = 50, cursor: str | None = None):
    """Schedules newest first; returns (schedules, next_cursor)."""
    query = select(Schedule).where(Schedule.namespace == namespace)
    with session_scope() as session:
        rows, next_cursor = keyset_page(session, query, Schedule.id, cursor, limit)
        return [describe_schedule(s) for s in rows], next_cursor


def update_schedule(namespace: str, schedule_id: str, **changes) -> dict:
    """Change some fields; a new cron or re-enabling starts counting from now, disabling clears next_run_at."""
    if "cron" in changes:
        next_fire_time(changes["cron"], utcnow())  # validate even when the schedule stays disabled
        changes["cron"] = " ".join(changes["cron"].split())
    with session_scope() as session:
        schedule = _load(session, namespace, schedule_id)
        retimed = (changes.get("cron", schedule.cron) != schedule.cron
                   or (changes.get("enabled") and not schedule.enabled))
        for field, value in changes.items():
            setattr(schedule, field, value)
        if not schedule.enabled:
            schedule.next_run_at = None
        elif retimed or schedule.next_run_at is None:
            # A new cron or a re-enable counts from now: ticks missed meanwhile are not replayed.
            schedule.next_run_at = next_fire_time(schedule.cron, utcnow())
        schedule.updated_at = utcnow()
        session.flush()
        return describe_schedule(schedule)


def delete_schedule(namespace: str, schedule_id: str) -> None:
    """Delete a schedule and its run history (the batches it created stay)."""
    with session_scope() as session:
        schedule = _load(session, namespace, schedule_id)
        session.execute(delete(ScheduleRun).where(ScheduleRun.schedule_id == schedule.id))
        session.delete(schedule)


def describe_run(run: ScheduleRun) -> dict:
    """One tick as the runs endpoint shows it."""
    return {"run_at": run.run_at, "recorded_at": run.recorded_at, "batch_id": run.batch_id, "objects": run.objects,
            "error": run.error}


def list_runs(namespace: str, schedule_id: str, limit: int = 50, cursor: str | None = None):
    """A schedule's runs, newest first; returns (runs, next_cursor)."""
    with session_scope() as session:
        _load(session, namespace, schedule_id)
        query = select(ScheduleRun).where(ScheduleRun.schedule_id == schedule_id)
        rows, next_cursor = keyset_page(session, query, ScheduleRun.id, cursor, limit)
        return [describe_run(r) for r in rows], next_cursor
