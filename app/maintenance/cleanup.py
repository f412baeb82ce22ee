"""Housekeeping: expired drafts, stored files no object references, and old schedule run history."""
import logging
import time
from datetime import timedelta

from sqlalchemy import delete, select

from app.objects import storage
from app.settings import get_settings
from app.db import session_scope
from app.models import Batch, BatchStatus, ScheduleRun, StoredObject, utcnow

log = logging.getLogger(__name__)
_CHUNK = 500


def remove_expired_drafts(now=None) -> int:
    """Delete DRAFT batches untouched for DRAFT_TTL_SECONDS and not scheduled (their objects stay)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=get_settings().DRAFT_TTL_SECONDS)
    with session_scope() as session:
        # One conditional DELETE (items go by ON DELETE CASCADE): a draft submitted meanwhile is never touched.
        return session.execute(delete(Batch).where(
            Batch.status == BatchStatus.DRAFT, Batch.submit_at.is_(None), Batch.updated_at < cutoff,
        ).execution_options(synchronize_session=False)).rowcount or 0


def _unreferenced(paths: list[str]) -> list[str]:
    """The paths no object row needs (a row whose original was released no longer does: its delete may have failed)."""
    with session_scope() as session:
        known = set(session.scalars(select(StoredObject.storage_path).where(
            StoredObject.storage_path.in_(paths), StoredObject.original_deleted_at.is_(None))))
    return [p for p in paths if p not in known]


def remove_orphaned_files(now: float | None = None) -> int:
    """Delete stored bytes no object references once older than ORPHAN_FILE_GRACE_SECONDS (uploads are younger)."""
    older_than = (now or time.time()) - get_settings().ORPHAN_FILE_GRACE_SECONDS
    removed, pending = storage.abandon_uploads(older_than), []
    for key in storage.stored_before(older_than):
        pending.append(key)
        if len(pending) == _CHUNK:
            removed += _delete_files(_unreferenced(pending))
            pending = []
    return removed + _delete_files(_unreferenced(pending) if pending else [])


def _delete_files(relatives: list[str]) -> int:
    """Remove the files; returns how many."""
    for relative in relatives:
        storage.delete(relative)
    return len(relatives)


def remove_old_schedule_runs(now=None) -> int:
    """Forget schedule runs older than SCHEDULE_RUN_TTL_SECONDS."""
    cutoff = (now or utcnow()) - timedelta(seconds=get_settings().SCHEDULE_RUN_TTL_SECONDS)
    with session_scope() as session:
        return session.execute(delete(ScheduleRun).where(ScheduleRun.recorded_at < cutoff)).rowcount or 0


def clean_up() -> dict:
    """Every housekeeping job; returns how much each removed."""
    report = {"drafts": remove_expired_drafts(), "files": remove_orphaned_files(),
              "schedule_runs": remove_old_schedule_runs()}
    if any(report.values()):
        log.info("cleanup removed %s", report)
    return report
