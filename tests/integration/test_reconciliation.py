"""The reaper with a real beat, a real worker and real Redis: nothing is lost, nothing runs twice.

Leases and intervals are seconds here (ITEM_LEASE_SECONDS=5, REAPER_INTERVAL_SECONDS=1); the worker loads
tests.faults.crash_worker, which kills the worker child processing any file named `crash-me*`.
"""
import io

import pytest
from sqlalchemy import func, select

from app import queue
from app.db import session_scope
from app.models import Batch, BatchEvent, BatchItem, Vector
from app.batches import lifecycle
from tests.integration.beat import beat_stack
from tests.integration.rabbitmq import ALSO_ON_RABBITMQ
from tests.integration.stack import wait_for
from tests.integration.test_pipeline import all_results, upload_texts, watch_until_finished

pytestmark = ALSO_ON_RABBITMQ   # re-dispatch by the reaper, the periodic queue and a dying worker on RabbitMQ too
LEASE = 5


@pytest.fixture(scope="module")
def rstack(database_url, redis_db, broker_url, tmp_path_factory):
    """API + a worker with the crash fault + one beat, with second-scale leases."""
    overrides = {"ITEM_LEASE_SECONDS": str(LEASE), "REAPER_INTERVAL_SECONDS": "1", "SCHEDULER_INTERVAL_SECONDS": "1",
                 "ITEM_MAX_ATTEMPTS": "3"}
    with beat_stack(database_url, redis_db, tmp_path_factory.mktemp("data"), overrides,
                    worker_args=("--include", "tests.faults.crash_worker"), broker_url=broker_url) as stack:
        yield stack


def items_of(batch_id):
    """(status, attempts) of every item."""
    with session_scope() as session:
        return session.execute(select(BatchItem.status, BatchItem.attempts).where(BatchItem.batch_id == batch_id)).all()


def finished(batch_id):
    """How many items of the batch have finished."""
    with session_scope() as session:
        return session.scalar(select(func.count()).where(BatchItem.batch_id == batch_id, BatchItem.status == "SUCCEEDED"))


def test_a_batch_survives_its_redis_being_emptied_mid_run(rstack):
    client, total = rstack["client"], 300
    ids = upload_texts(client, total, "flush")
    batch = client.post("/v1/batches", json={"collection_id": "flush", "object_ids": ids, "auto_submit": True}).get_json()
    batch_id = batch["batch_id"]
    wait_for(lambda: finished(batch_id) > 0, 60, interval=0.005, message="the first processed item")
    rstack["redis"].flushdb()   # queue, chord state, counters and task status: all gone
    assert finished(batch_id) < total, "the batch finished before Redis was emptied; nothing was tested"

    final, _ = watch_until_finished(client, batch_id, timeout=240)
    assert final["status"] == "COMPLETED", final
    assert final["progress"]["processed"] == total and final["progress"]["succeeded"] == total
    summary, results = all_results(client, batch_id)
    assert summary["successful"] == total and len(results) == total
    assert {r["object_id"] for r in results} == set(ids)
    assert items_of(batch_id) and all(row == ("SUCCEEDED", 1) for row in items_of(batch_id))   # each ran once
    with session_scope() as session:
        vectors = session.scalar(select(func.count()).select_from(Vector).where(Vector.collection_id == "flush"))
        distinct = session.scalar(select(func.count()).select_from(
            select(Vector.sha256, Vector.chunk_index).where(Vector.collection_id == "flush").distinct().subquery()))
    assert vectors == distinct == sum(r["chunks"] for r in results)
    # Redis follows the row a moment after its commit (finalize writes the task status after it).
    wait_for(lambda: client.get(f"/v1/tasks/{batch['task_id']}").get_json().get("status") == "COMPLETED", 60,
             message="the task status, rebuilt, to follow the batch")


def test_a_batch_committed_but_never_dispatched_is_picked_up(rstack, monkeypatch):
    client = rstack["client"]
    batch = client.post("/v1/batches", json={"collection_id": "lost", "object_ids": upload_texts(client, 5, "lost")}).get_json()
    with monkeypatch.context() as crash:
        crash.setattr(queue, "send", lambda *args, **kwargs: None)
        lifecycle.submit_batch("default", batch["batch_id"])   # committed QUEUED; the API "died" before dispatching
    final, seen = watch_until_finished(client, batch["batch_id"], timeout=90)
    assert final["status"] == "COMPLETED" and final["progress"]["succeeded"] == 5
    with session_scope() as session:
        row = session.get(Batch, batch["batch_id"])
        assert (row.started_at - row.submitted_at).total_seconds() >= LEASE   # the reaper's doing, after the lease


def test_a_started_batch_whose_chord_never_went_out_is_finished(rstack, monkeypatch):
    client = rstack["client"]
    batch = client.post("/v1/batches", json={"collection_id": "nochord", "object_ids": upload_texts(client, 6, "nochord")}).get_json()
    with monkeypatch.context() as crash:
        crash.setattr(queue, "send", lambda *args, **kwargs: None)
        lifecycle.submit_batch("default", batch["batch_id"])
    # PROCESSING; the worker "died" before the chord
    assert len(lifecycle.start_processing(batch["batch_id"], "default").item_ids) == 6
    final, _ = watch_until_finished(client, batch["batch_id"], timeout=90)
    assert final["status"] == "COMPLETED"
    assert sorted(items_of(batch["batch_id"])) == [("SUCCEEDED", 1)] * 6

    def announced():   # by the reap task itself: the 60 s announce sweep would be far later
        with session_scope() as session:
            rows = session.execute(select(BatchEvent.type, BatchEvent.announced_at).where(
                BatchEvent.batch_id == batch["batch_id"])).all()
        return {t for t, at in rows if at} >= {"batch.completed"}
    wait_for(announced, 15, interval=0.2, message="batch.completed to be announced")


def test_a_file_that_kills_its_worker_is_quarantined(rstack):
    client = rstack["client"]
    ids = upload_texts(client, 4, "fine")
    poison = client.post("/v1/objects", data={"file": [(io.BytesIO(b"an innocent looking text"), "crash-me.txt")]},
                         content_type="multipart/form-data").get_json()["objects"][0]["object_id"]
    batch = client.post("/v1/batches", json={"collection_id": "poison", "object_ids": ids + [poison],
                                             "auto_submit": True}).get_json()
    final, _ = watch_until_finished(client, batch["batch_id"], timeout=120)
    assert final["status"] == "COMPLETED_WITH_ERRORS", final
    _, results = all_results(client, batch["batch_id"])
    [dead] = [r for r in results if r["object_id"] == poison]
    assert dead["status"] == "FAILED" and dead["attempts"] == 3
    assert dead["error"] == {"type": "processing_error",
                             "message": "Quarantined: the worker died 3 times processing this file."}
    assert {r["status"] for r in results if r["object_id"] != poison} == {"SUCCEEDED"}
    # The children really died (the pool may notice the last death a few seconds late).
    wait_for(lambda: rstack["worker"].log_path.read_text().count("exited with 'exitcode 1'") >= 3, 30,
             interval=0.2, message="three dead worker children in the log")
    assert rstack["worker"].process.poll() is None
