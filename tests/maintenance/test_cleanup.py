"""Cleanup on SQLite with real files: expired drafts, orphaned stored files, old schedule runs."""
import os
import time
from datetime import timedelta

from sqlalchemy import select, update

from app.settings import get_settings
from app.db import session_scope
from app.models import Batch, BatchItem, ScheduleRun, StoredObject, utcnow
from app.maintenance import cleanup
from app.batches import lifecycle
from tests.helpers import new_batch, text_objects


def age(batch_id, seconds):
    """Pretend the batch was last touched `seconds` ago."""
    with session_scope() as session:
        session.execute(update(Batch).where(Batch.id == batch_id).values(updated_at=utcnow() - timedelta(seconds=seconds)))


def test_only_old_unscheduled_drafts_are_removed(client, dispatched):
    ids = text_objects(client, 4)
    ttl = get_settings().DRAFT_TTL_SECONDS
    old = new_batch(client, ids[:2])["batch_id"]
    young = new_batch(client, ids[:1])["batch_id"]
    scheduled = new_batch(client, ids[:1], submit_at="2099-01-01T00:00:00Z")["batch_id"]
    submitted = new_batch(client, ids[2:])["batch_id"]
    lifecycle.submit_batch("default", submitted)
    for batch_id in (old, scheduled, submitted):
        age(batch_id, ttl + 60)
    age(young, ttl - 60)

    assert cleanup.remove_expired_drafts() == 1
    with session_scope() as session:
        assert set(session.scalars(select(Batch.id))) == {young, scheduled, submitted}
        assert session.scalars(select(BatchItem).where(BatchItem.batch_id == old)).all() == []
        assert len(session.scalars(select(StoredObject)).all()) == 4    # the objects stay
    assert client.get(f"/v1/batches/{old}").status_code == 404


def test_orphaned_files_go_after_the_grace_period_referenced_ones_stay(client):
    [object_id] = text_objects(client, 1)
    root = get_settings().objects_dir
    with session_scope() as session:
        kept = root / session.get(StoredObject, object_id).storage_path
    orphan, young_orphan, stale_upload = root / "ab" / "orphan", root / "ab" / "young", root / "cd" / ".upload-x1"
    for path in (orphan, young_orphan, stale_upload):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left behind")
    old = time.time() - get_settings().ORPHAN_FILE_GRACE_SECONDS - 60
    for path in (kept, orphan, stale_upload):
        os.utime(path, (old, old))

    assert cleanup.remove_orphaned_files() == 2
    assert kept.exists() and young_orphan.exists()
    assert not orphan.exists() and not stale_upload.exists()
    assert client.get(f"/v1/objects/{object_id}").status_code == 200


def test_old_schedule_runs_are_forgotten(client):
    schedule_id = client.post("/v1/schedules", json={"name": "s", "cron": "@daily", "collection_id": "c"}).get_json()["schedule_id"]
    now = utcnow()
    with session_scope() as session:
        for days in (1, 40):
            session.add(ScheduleRun(schedule_id=schedule_id, run_at=now - timedelta(days=days),
                                    recorded_at=now - timedelta(days=days), objects=0))
    assert cleanup.remove_old_schedule_runs() == 1
    assert len(client.get(f"/v1/schedules/{schedule_id}/runs").get_json()["runs"]) == 1


def test_clean_up_reports_each_job(client):
    assert cleanup.clean_up() == {"drafts": 0, "files": 0, "schedule_runs": 0}
