"""The lease heartbeat with a real worker and beat: a live item slower than its lease is renewed and runs once.

A module of its own: its stack (API settings, worker, beat, a flushed Redis database) must not overlap
another module's.
"""
import io

from sqlalchemy import select

from app.db import session_scope
from app.models import BatchItem
from tests.integration.beat import beat_stack
from tests.integration.stack import wait_for
from tests.integration.test_pipeline import watch_until_finished

FAULTS = ("--include", "tests.faults.slow_worker")


def upload_named(client, files: dict[str, bytes]) -> list[str]:
    """Upload the named files; their object ids."""
    data = {"file": [(io.BytesIO(content), name) for name, content in files.items()]}
    return [o["object_id"] for o in client.post("/v1/objects", data=data,
                                                content_type="multipart/form-data").get_json()["objects"]]


def item_rows(batch_id):
    """filename → (status, attempts) of every item."""
    with session_scope() as session:
        return {r.filename: (r.status, r.attempts) for r in session.execute(
            select(BatchItem.filename, BatchItem.status, BatchItem.attempts).where(BatchItem.batch_id == batch_id))}


def test_a_live_slow_item_keeps_its_lease(database_url, redis_db, tmp_path_factory):
    overrides = {"ITEM_LEASE_SECONDS": "2", "REAPER_INTERVAL_SECONDS": "1", "PYTHONUNBUFFERED": "1"}
    with beat_stack(database_url, redis_db, tmp_path_factory.mktemp("data"), overrides, worker_args=FAULTS) as stack:
        client, beat_log = stack["client"], stack["beats"][0].log_path
        wait_for(lambda: "batchery.reap" in beat_log.read_text(), 60, interval=0.2, message="the reaper to tick")
        ids = upload_named(client, {"slow-9000-a.txt": b"a slow but healthy file"})
        batch = client.post("/v1/batches", json={"collection_id": "slow", "object_ids": ids,
                                                 "auto_submit": True}).get_json()

        def renewed():   # the heartbeat moved the lease well past the claim while the file is still working
            with session_scope() as session:
                row = session.execute(select(BatchItem.status, BatchItem.started_at, BatchItem.updated_at)
                                      .where(BatchItem.batch_id == batch["batch_id"])).one()
            assert row.status in ("PENDING", "PROCESSING"), row
            return row.started_at and (row.updated_at - row.started_at).total_seconds() > 4
        wait_for(renewed, 60, interval=0.1, message="the lease to be renewed")
        reaps = beat_log.read_text().count("batchery.reap")
        final, _ = watch_until_finished(client, batch["batch_id"], timeout=120)
        assert final["status"] == "COMPLETED"
        # 9 s of work under a 2 s lease with the reaper ticking every second: it ran once, never re-sent.
        assert beat_log.read_text().count("batchery.reap") > reaps
        assert item_rows(batch["batch_id"]) == {"slow-9000-a.txt": ("SUCCEEDED", 1)}
