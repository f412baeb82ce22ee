"""Packs and leases with real workers: a poison file in a pack is quarantined alone, a duplicate pack changes
nothing, a live slow item keeps its lease, and a killed worker's items finish soon after its restart.
"""
import io
import os
import signal
import time

import pytest
from sqlalchemy import func, select

from app.db import session_scope
from app.models import BatchItem, Vector
from app.redis_client import key
from tests.integration.beat import beat_stack
from tests.integration.stack import Worker, wait_for
from tests.integration.test_pipeline import all_results, upload_texts, watch_until_finished

FAULTS = ("--include", "tests.faults.crash_worker,tests.faults.slow_worker")


@pytest.fixture(scope="module")
def lstack(database_url, redis_db, tmp_path_factory):
    """API + a worker with the crash and slow faults + one beat; the default lease, a 2 s reaper."""
    overrides = {"REAPER_INTERVAL_SECONDS": "2", "ITEM_MAX_ATTEMPTS": "3"}
    with beat_stack(database_url, redis_db, tmp_path_factory.mktemp("data"), overrides, worker_args=FAULTS) as stack:
        yield stack


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


def test_a_poison_file_in_a_pack_is_quarantined_alone(lstack):
    client = lstack["client"]
    ids = upload_texts(client, 40, "packed")
    poison = upload_named(client, {"crash-me-packed.txt": b"an innocent looking text in a pack"})
    batch = client.post("/v1/batches", json={"collection_id": "packpoison", "object_ids": ids[:20] + poison + ids[20:],
                                             "auto_submit": True}).get_json()
    final, _ = watch_until_finished(client, batch["batch_id"], timeout=180)
    assert final["status"] == "COMPLETED_WITH_ERRORS", final
    rows = item_rows(batch["batch_id"])
    assert rows.pop("crash-me-packed.txt") == ("FAILED", 3)
    assert {status for status, _ in rows.values()} == {"SUCCEEDED"}
    # The pack's other files were handed back one by one: at most one more attempt each, never quarantined.
    assert {attempts for _, attempts in rows.values()} <= {1, 2}
    assert final["progress"]["processed"] == 41 and final["progress"]["failed"] == 1
    assert "sent again one by one" in lstack["worker"].log_path.read_text()   # it really went through a pack


def test_a_duplicate_delivery_of_a_pack_through_the_worker_changes_nothing(lstack):
    from tasks.batch import embed_pack

    client = lstack["client"]
    batch = client.post("/v1/batches", json={"collection_id": "duppack", "object_ids": upload_texts(client, 16, "dup"),
                                             "auto_submit": True}).get_json()
    watch_until_finished(client, batch["batch_id"])
    with session_scope() as session:
        item_ids = list(session.scalars(select(BatchItem.id).where(BatchItem.batch_id == batch["batch_id"])))

    def snapshot():
        with session_scope() as session:
            vectors = session.scalar(select(func.count()).select_from(Vector).where(Vector.collection_id == "duppack"))
        return item_rows(batch["batch_id"]), vectors, lstack["redis"].hgetall(key("progress", batch["batch_id"]))
    before = snapshot()
    summary = embed_pack.delay(batch["batch_id"], item_ids, "default").get(timeout=60)
    assert summary == {"statuses": {"SUCCEEDED": 16}, "handed_off": 0}
    assert snapshot() == before


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


def test_a_killed_worker_s_items_finish_within_two_minutes_of_its_restart(lstack):
    client, worker = lstack["client"], lstack["worker"]
    files = {f"slow-40-{n}.txt": f"file {n} of a batch whose worker is killed".encode() for n in range(300)}
    batch = client.post("/v1/batches", json={"collection_id": "killed", "object_ids": upload_named(client, files),
                                             "auto_submit": True}).get_json()

    def some_done():
        return client.get(f"/v1/batches/{batch['batch_id']}").get_json()["progress"]["processed"] >= 20
    wait_for(some_done, 120, interval=0.1, message="the first items to finish")
    os.killpg(worker.process.pid, signal.SIGKILL)   # the whole worker: parent and children, no goodbye
    worker.process.wait()
    replacement = Worker({**os.environ, **lstack["settings"]}, lstack["data_dir"] / "worker-2.log",
                         extra_args=FAULTS)
    try:
        restarted = time.monotonic()
        final, _ = watch_until_finished(client, batch["batch_id"], timeout=120)
        assert final["status"] == "COMPLETED", final
        assert time.monotonic() - restarted < 120
        rows = item_rows(batch["batch_id"])
        assert len(rows) == 300 and {s for s, _ in rows.values()} == {"SUCCEEDED"}
        assert max(a for _, a in rows.values()) <= 2
    finally:
        replacement.stop()
