"""Progress counters: redelivery never counts twice, Redis loss is rebuilt from the database, reads are O(1)."""
import time

from sqlalchemy import event, select

from app import db
from app.db import session_scope
from app.models import BatchItem
from app.redis_client import key
from app.batches import items, lifecycle
from app.progress.metrics import item_outcomes
from app.progress.counters import COUNTERS, count_items_in_db
from tests.helpers import new_batch, text_objects


def started_batch(client, count):
    """A submitted batch moved to PROCESSING (what dispatch_batch does); returns (batch id, item ids)."""
    batch = new_batch(client, text_objects(client, count))
    client.post(f"/v1/batches/{batch['batch_id']}/submit")
    return batch["batch_id"], list(lifecycle.start_processing(batch["batch_id"], "default").item_ids)


def redis_counts(fake_redis, batch_id):
    raw = fake_redis.hgetall(key("progress", batch_id))
    return {k: int(raw[k]) for k in COUNTERS}


def db_counts(batch_id):
    with session_scope() as session:
        return count_items_in_db(session, batch_id)


def test_a_redelivered_item_counts_once(client, dispatched, fake_redis):
    batch_id, ids = started_batch(client, 3)
    assert items.process_item(ids[0], "default")["status"] == "SUCCEEDED"
    before = (redis_counts(fake_redis, batch_id), item_outcomes())
    # Redelivery after the item finished: the claim sees a final status and moves nothing.
    assert items.process_item(ids[0], "default")["status"] == "SUCCEEDED"
    assert (redis_counts(fake_redis, batch_id), item_outcomes()) == before

    # A worker that vanished mid-item: the redelivery re-takes the PROCESSING item and finishes it first...
    first = items.claim_item(ids[1], "default")
    second = items.claim_item(ids[1], "default")
    assert second.attempt == first.attempt + 1
    assert items.embed_claimed(second) == "SUCCEEDED"
    # ...then the first delivery wakes up: its conditional update fails, its outcome is dropped uncounted.
    assert items.fail_item(first, "processing_error", "late duplicate") == "SUCCEEDED"
    assert items.embed_claimed(first) == "SUCCEEDED"
    assert redis_counts(fake_redis, batch_id) == db_counts(batch_id)
    assert redis_counts(fake_redis, batch_id) == {"total": 3, "succeeded": 2, "skipped": 0,
                                                  "failed": 0, "cancelled": 0}
    assert item_outcomes() == {"succeeded": 2}


def test_give_up_after_a_finish_does_not_count(client, dispatched, fake_redis):
    batch_id, ids = started_batch(client, 1)
    items.process_item(ids[0], "default")
    assert items.give_up(ids[0], "late retry") == "SUCCEEDED"
    assert redis_counts(fake_redis, batch_id) == db_counts(batch_id) and item_outcomes() == {"succeeded": 1}


def test_lost_counters_are_rebuilt_from_the_database(client, dispatched, fake_redis):
    batch_id, ids = started_batch(client, 4)
    for item_id in ids[:3]:
        items.process_item(item_id, "default")
    fake_redis.delete(key("progress", batch_id))
    body = client.get(f"/v1/batches/{batch_id}").get_json()
    assert body["progress"]["processed"] == 3 and body["progress"]["total"] == 4
    assert body["health"] == "healthy"            # the last finish time came back too: no false stall
    assert redis_counts(fake_redis, batch_id) == db_counts(batch_id)
    with session_scope() as session:
        latest = max(session.scalars(select(BatchItem.finished_at).where(BatchItem.batch_id == batch_id)
                                     .where(BatchItem.finished_at.is_not(None))))
    assert float(fake_redis.hget(key("progress", batch_id), "last_progress_at")) == latest.timestamp()


def test_reading_a_running_batch_never_touches_its_items(client, dispatched, fake_redis):
    batch_id, ids = started_batch(client, 5)
    items.process_item(ids[0], "default")
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)
    engine = db.get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(3):
            body = client.get(f"/v1/batches/{batch_id}").get_json()
        health = client.get(f"/v1/batches/{batch_id}/health").get_json()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert body["status"] == "PROCESSING" and body["progress"]["processed"] == 1 and health["health"] == "healthy"
    assert statements and not [s for s in statements if "batch_items" in s]


def test_bulk_cancellation_is_counted_once(client, dispatched, fake_redis):
    batch_id, ids = started_batch(client, 4)
    items.process_item(ids[0], "default")
    client.put(f"/v1/batches/{batch_id}/state", json={"state": "CANCELLED"})
    for item_id in ids[1:]:
        items.process_item(item_id, "default")     # queued deliveries find their item already cancelled
    lifecycle.finalize_batch(batch_id, "default")
    lifecycle.finalize_batch(batch_id, "default")
    assert item_outcomes() == {"succeeded": 1, "cancelled": 3}


def test_the_rate_window_counts_finished_work_not_cancelled_items(client, dispatched, fake_redis):
    from app.progress import rate

    batch_id, ids = started_batch(client, 4)
    window = lambda: rate.window_total(fake_redis.mget(rate._slice_keys(batch_id, time.time())[0]))  # noqa: E731
    items.process_item(ids[0], "default")
    assert window() == 1
    items.claim_item(ids[1], "default")       # its worker vanishes mid-item
    client.put(f"/v1/batches/{batch_id}/state", json={"state": "CANCELLED"})
    assert items.claim_item(ids[1], "default").status == "CANCELLED"   # the redelivery meets the cancel
    assert redis_counts(fake_redis, batch_id)["cancelled"] == 3
    assert window() == 1, "a cancelled item is not work done"
