"""A real worker runs the chord: completion, typed item errors, cancellation, finalize twice, task TTL."""
import io
import json
import re

from sqlalchemy import func, select

from app.db import session_scope
from app.models import Batch, Vector
from app.redis_client import key
from app.batches import lifecycle
from tests.fixture_files import make_elf, make_pdf
from tests.integration.rabbitmq import ALSO_ON_RABBITMQ
from tests.integration.stack import queue_length, wait_for

pytestmark = ALSO_ON_RABBITMQ   # the chord and its callback on RabbitMQ too
FINISHED = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"}


def upload_texts(client, count, prefix):
    """Create `count` distinct text objects in chunks of 50 files per request."""
    ids = []
    for start in range(0, count, 50):
        files = [(io.BytesIO(f"{prefix} document {i}. It talks about subject {i % 13} at length.\n\n"
                             f"Second paragraph of {prefix} {i}.".encode()), f"{prefix}-{i}.txt")
                 for i in range(start, min(start + 50, count))]
        response = client.post("/v1/objects", data={"file": files}, content_type="multipart/form-data")
        assert response.status_code == 201, response.get_json()
        ids += [o["object_id"] for o in response.get_json()["objects"]]
    return ids


def watch_until_finished(client, batch_id, timeout=600):
    """Poll the batch, recording each status seen, until it finishes."""
    seen = []

    def finished():
        body = client.get(f"/v1/batches/{batch_id}").get_json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        return body if body["status"] in FINISHED else None
    return wait_for(finished, timeout, interval=0.05, message=f"batch {batch_id} to finish"), seen


def all_results(client, batch_id):
    """Every result of a batch, following cursors."""
    results, cursor = [], ""
    while True:
        body = client.get(f"/v1/batches/{batch_id}/results?limit=1000&cursor={cursor}").get_json()
        results += body["results"]
        if not body["next_cursor"]:
            return body["batch_summary"], results
        cursor = body["next_cursor"]


def test_two_hundred_objects_complete_through_the_chord(stack):
    client = stack["client"]
    ids = upload_texts(client, 200, "big")
    batch = client.post("/v1/batches", json={"collection_id": "big", "object_ids": ids}).get_json()
    assert batch["status"] == "DRAFT"
    submitted = client.post(f"/v1/batches/{batch['batch_id']}/submit").get_json()
    assert submitted["status"] == "QUEUED"
    final, seen = watch_until_finished(client, batch["batch_id"])
    assert final["status"] == "COMPLETED", final
    assert seen[0] in ("QUEUED", "PROCESSING") and seen[-1] == "COMPLETED"
    assert seen == sorted(seen, key=["QUEUED", "PROCESSING", "COMPLETED"].index)
    assert final["submitted_at"] <= final["started_at"] <= final["completed_at"]
    summary, results = all_results(client, batch["batch_id"])
    assert summary["total_items"] == 200 and summary["successful"] == 200
    assert len(results) == 200 and {r["status"] for r in results} == {"SUCCEEDED"}
    assert {r["dimensions"] for r in results} == {384}
    with session_scope() as session:
        vectors = session.scalar(select(func.count()).select_from(Vector).where(Vector.collection_id == "big"))
    assert vectors == sum(r["chunks"] for r in results) >= 200
    assert final["progress"]["processed"] == 200 and final["progress"]["percent"] == 100.0

    task_key = key("task", submitted["task_id"])
    assert 0 < stack["redis"].ttl(task_key) <= 24 * 3600
    # The task status follows the batch row: finalize writes it to Redis just after its commit, so a poll that
    # saw the row COMPLETED can still read PROCESSING here for that moment (seen once under load).
    wait_for(lambda: client.get(f"/v1/tasks/{submitted['task_id']}").get_json()["status"] == "COMPLETED", 30,
             message="the task status to follow the batch")


def celery_results(redis) -> list[dict]:
    """Every task result Celery's Redis backend holds (extended: with each task's name and arguments)."""
    return [json.loads(redis.get(name)) for name in redis.scan_iter(match="*celery-task-meta-*", count=1000)]


def test_the_chords_parts_store_no_result_and_its_callback_does(stack):
    client = stack["client"]
    ids = upload_texts(client, 20, "parts")   # a pack ...
    pdf = client.post("/v1/objects", data={"file": [(io.BytesIO(make_pdf(["A report."])), "report.pdf")]},
                      content_type="multipart/form-data").get_json()["objects"][0]["object_id"]   # ... and a lone file
    batch = client.post("/v1/batches", json={"collection_id": "parts", "object_ids": ids + [pdf],
                                             "auto_submit": True}).get_json()
    final, _ = watch_until_finished(client, batch["batch_id"])
    assert final["status"] == "COMPLETED" and final["progress"]["processed"] == 21
    # Celery stores finalize_batch's result after the task's commit, which the poll above may beat; a part
    # stores its result (if it does) before its chord counts it, so long before the callback's.
    ours = wait_for(lambda: [r["name"] for r in celery_results(stack["redis"])
                             if batch["batch_id"] in json.dumps(r.get("args"))] or None, 30,
                    message="finalize_batch's result")
    assert ours == ["batchery.finalize_batch"]   # no embed_pack or embed_object result


def test_one_bad_file_fails_only_its_item(stack):
    client = stack["client"]
    ids = upload_texts(client, 5, "mixed")
    bad = client.post("/v1/objects", data={"file": [(io.BytesIO(make_elf()), "tool.bin")]},
                      content_type="multipart/form-data").get_json()["objects"][0]["object_id"]
    batch = client.post("/v1/batches", json={"collection_id": "mixed", "object_ids": ids + [bad],
                                             "auto_submit": True}).get_json()
    final, _ = watch_until_finished(client, batch["batch_id"])
    assert final["status"] == "COMPLETED_WITH_ERRORS"
    errors = client.get(f"/v1/batches/{batch['batch_id']}/errors").get_json()
    assert errors["total_errors"] == 1 and errors["by_type"]["format_error"][0]["object_id"] == bad


def test_cancel_mid_batch_leaves_nothing_pending(stack):
    client = stack["client"]
    ids = upload_texts(client, 400, "cancel")
    batch = client.post("/v1/batches", json={"collection_id": "cancel", "object_ids": ids, "auto_submit": True}).get_json()
    wait_for(lambda: client.get(f"/v1/batches/{batch['batch_id']}").get_json()["progress"]["processed"] > 0, 300,
             message="first processed item")
    response = client.put(f"/v1/batches/{batch['batch_id']}/state", json={"state": "CANCELLED"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["previous_state"] == "PROCESSING"

    def settled():
        summary, results = all_results(client, batch["batch_id"])
        open_rows = {"PENDING", "PROCESSING"} & {r["status"] for r in results}
        # The summary and the rows are separate reads: wait until both agree that everything settled.
        counted = summary["successful"] + summary["skipped"] + summary["failed"] + summary["cancelled"]
        return (summary, results) if not open_rows and counted == 400 else None
    summary, results = wait_for(settled, 120, interval=0.2, message="every item to settle")
    assert summary["status"] == "CANCELLED"
    assert summary["cancelled"] > 0 and summary["successful"] > 0
    assert summary["successful"] + summary["cancelled"] == 400
    final = client.get(f"/v1/batches/{batch['batch_id']}").get_json()
    assert final["status"] == "CANCELLED" and final["progress"]["processed"] == 400
    # The skipped tasks still drain from the queue; let them go before the next test shares the worker.
    wait_for(lambda: queue_length("batchery") == 0, 120, interval=0.2, message="the queue to drain")


def test_running_finalize_again_changes_nothing(stack):
    client = stack["client"]
    batch = client.post("/v1/batches", json={"collection_id": "twice", "object_ids": upload_texts(client, 3, "twice"),
                                             "auto_submit": True}).get_json()
    watch_until_finished(client, batch["batch_id"])
    with session_scope() as session:
        before = session.get(Batch, batch["batch_id"])
        snapshot = (before.status, before.completed_at, before.updated_at)
    from tasks.batch import finalize_batch

    assert finalize_batch.delay(batch["batch_id"], "default").get(timeout=30) == "COMPLETED"  # through the real worker
    again = lifecycle.finalize_batch(batch["batch_id"], "default")
    assert again.status == "COMPLETED" and again.changed is False
    with session_scope() as session:
        after = session.get(Batch, batch["batch_id"])
        assert (after.status, after.completed_at, after.updated_at) == snapshot


def test_queue_depth_counts_waiting_messages(stack):
    """What /metrics shows and the reaper reads (a quiet item is re-sent early only while the queue is empty)."""
    from app.queue import celery_app
    from tasks.batch import embed_object

    client, worker = stack["client"], stack["worker"]
    name = celery_app.amqp.queues["batchery"].name   # the broker's name of the queue (prefixed on RabbitMQ)

    def depth():
        text = client.get("/metrics").get_data(as_text=True)
        return float(re.search(r'^batchery_queue_depth\{queue="batchery"\} (\S+)$', text, re.M).group(1))
    assert depth() == 0
    # The worker acts on cancel_consumer after it has answered (call_soon): the messages go out only once it
    # lists no such queue, else it could take one of them and the depth would never read 3.
    worker.control(celery_app, "cancel_consumer", queue=name)
    try:
        wait_for(lambda: name not in {q["name"] for q in worker.control(celery_app, "active_queues")}, 30,
                 message="the worker to stop consuming")
        waiting = [embed_object.apply_async(("bat_none", -n, "default")) for n in range(1, 4)]
        # A BRPOP the worker sent before the cancel may still pop one message; kombu then puts it back
        # ("Requeuing undeliverable message … No consumers"), so the depth reads 2 for a moment before 3.
        wait_for(lambda: depth() == 3, 30, message="three waiting messages")
    finally:
        worker.control(celery_app, "add_consumer", queue=name)
    assert [r.get(timeout=30)["status"] for r in waiting] == ["MISSING"] * 3
    wait_for(lambda: depth() == 0, 30, message="an empty queue")
