"""Packs and leases with real workers: a poison file in a pack is quarantined alone, a duplicate pack changes
nothing, and a killed worker's items finish soon after its restart (tests/integration/test_lease_heartbeat.py
has the live slow item).
"""
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
from tests.integration.test_lease_heartbeat import item_rows, upload_named
from tests.integration.test_pipeline import upload_texts, watch_until_finished

FAULTS = ("--include", "tests.faults.crash_worker,tests.faults.slow_worker")


@pytest.fixture(scope="module")
def lstack(database_url, redis_db, tmp_path_factory):
    """API + a worker with the crash and slow faults + one beat; the default lease, a 2 s reaper."""
    overrides = {"REAPER_INTERVAL_SECONDS": "2", "ITEM_MAX_ATTEMPTS": "3"}
    with beat_stack(database_url, redis_db, tmp_path_factory.mktemp("data"), overrides, worker_args=FAULTS) as stack:
        yield stack


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
