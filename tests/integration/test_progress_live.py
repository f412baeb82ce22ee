"""Live progress on a real worker: fields only move forward and end exact; redelivered items count once."""
import re

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from app.db import session_scope
from app.models import BatchItem
from app.redis_client import key
from app.progress.counters import COUNTERS, count_items_in_db
from tests.integration.stack import wait_for
from tests.integration.test_pipeline import upload_texts, watch_until_finished

FINISHED = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"}
LINE = re.compile(r"^Processing [\d,]+/300 objects \(\d+\.\d%\)( · [\d.,]+ items/sec)?( · ~(\d+h )?\d+[ms]( \d+s)? remaining)?$")


def scrape(client, family: str) -> dict:
    """One metric family of GET /metrics as {(sample name, labels): value}."""
    text = client.get("/metrics").get_data(as_text=True)
    for found in text_string_to_metric_families(text):
        if found.name == family:
            return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in found.samples}
    return {}


def outcomes(client) -> dict:
    """Items processed so far by outcome, from /metrics."""
    return {labels[0][1]: value for (_, labels), value in scrape(client, "batchery_items_processed").items()}


def test_progress_moves_forward_and_ends_exact(stack):
    client = stack["client"]
    batch = client.post("/v1/batches", json={"collection_id": "live", "object_ids": upload_texts(client, 300, "live")})
    batch_id = batch.get_json()["batch_id"]
    assert client.post(f"/v1/batches/{batch_id}/submit").status_code == 202
    snapshots = []

    def poll():
        body = client.get(f"/v1/batches/{batch_id}").get_json()
        snapshots.append(body)
        return body if body["status"] in FINISHED else None
    final = wait_for(poll, 180, interval=0.01, message="the batch to finish")

    for before, after in zip(snapshots, snapshots[1:]):
        for field in ("processed", "succeeded", "percent"):
            assert after["progress"][field] >= before["progress"][field], (field, before["progress"], after["progress"])
        assert after["progress"]["current_stage"]["index"] >= before["progress"]["current_stage"]["index"]
    running = [s for s in snapshots if s["status"] == "PROCESSING" and 0 < s["progress"]["processed"] < 300]
    assert len({s["progress"]["processed"] for s in running}) >= 3, "too few in-flight observations"
    for body in running:
        progress = body["progress"]
        assert progress["processed"] <= progress["total"] == 300 and body["health"] != "unhealthy"
        assert LINE.match(body["status_message"]), body["status_message"]
    assert any(s["progress"]["items_per_second"] and s["progress"]["eta_seconds"] for s in running)
    assert [s["progress"]["current_stage"]["name"] for s in running][-1] in ("embedding", "finalizing")

    progress = final["progress"]
    assert final["status"] == "COMPLETED" and final["health"] == "healthy"
    assert (progress["processed"], progress["total"], progress["succeeded"], progress["percent"]) == (300, 300, 300, 100.0)
    assert progress["eta_seconds"] == 0 and progress["items_per_second"] > 0
    assert progress["current_stage"] == {"name": "finished", "index": 3, "total": 3}
    assert final["estimated_completion"] == final["completed_at"]
    assert final["status_message"].startswith("Completed 300 objects · took ")
    with session_scope() as session:
        truth = count_items_in_db(session, batch_id)
    assert (truth["succeeded"], truth["total"]) == (progress["succeeded"], progress["total"])


def item_ids(batch_id):
    with session_scope() as session:
        return list(session.scalars(select(BatchItem.id).where(BatchItem.batch_id == batch_id).order_by(BatchItem.id)))


def test_redelivered_messages_never_count_twice(stack):
    from tasks.batch import embed_object

    client, redis = stack["client"], stack["redis"]
    before = outcomes(client)
    ids = upload_texts(client, 40, "again")
    batch_id = client.post("/v1/batches", json={"collection_id": "again", "object_ids": ids,
                                                "auto_submit": True}).get_json()["batch_id"]
    wait_for(lambda: client.get(f"/v1/batches/{batch_id}").get_json()["status"] != "QUEUED", 60,
             message="dispatch")
    # Every item's message delivered a second time while the chord runs, and a third time after it finished.
    during = [embed_object.apply_async((batch_id, item_id, "default")) for item_id in item_ids(batch_id)]
    final, _ = watch_until_finished(client, batch_id)
    after = [embed_object.apply_async((batch_id, item_id, "default")) for item_id in item_ids(batch_id)]
    # A duplicate that lost the claim race to its twin answers RACED; once finished, every item reads SUCCEEDED.
    assert {r.get(timeout=60)["status"] for r in during} <= {"SUCCEEDED", "RACED"}
    assert {r.get(timeout=60)["status"] for r in after} == {"SUCCEEDED"}

    assert final["status"] == "COMPLETED" and final["progress"]["processed"] == 40
    with session_scope() as session:
        truth = count_items_in_db(session, batch_id)
    raw = redis.hgetall(key("progress", batch_id))
    assert {k: int(raw[k]) for k in COUNTERS} == truth == {
        "total": 40, "succeeded": 40, "skipped": 0, "failed": 0, "cancelled": 0}
    gained = {k: v - before.get(k, 0) for k, v in outcomes(client).items()}
    assert gained == {"succeeded": 40}
