"""Services that move batches and items, on a SQLite file with fakeredis: idempotency and counting."""
import io

import pytest
from sqlalchemy import func, select

from app.db import session_scope
from app.errors import EmptyBatch, InvalidState
from app.models import BatchItem, Vector
from app.batches import catalog, items, lifecycle
from app.progress import counters
from app.objects.catalog import Upload, create_objects


def make_batch(texts, collection="c", **options):
    """A DRAFT batch over new text objects."""
    objs = create_objects("default", [Upload(f"t{i}.txt", io.BytesIO(t.encode())) for i, t in enumerate(texts)])
    return catalog.create_batch("default", collection, object_ids=[o["object_id"] for o in objs], **options)


def item_ids(batch_id):
    with session_scope() as session:
        return list(session.scalars(select(BatchItem.id).where(BatchItem.batch_id == batch_id).order_by(BatchItem.id)))


def vector_count(collection):
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Vector).where(Vector.collection_id == collection))


@pytest.mark.parametrize("counts,expected", [
    ({"total": 3, "succeeded": 3, "skipped": 0, "failed": 0, "cancelled": 0}, "COMPLETED"),
    ({"total": 3, "succeeded": 0, "skipped": 3, "failed": 0, "cancelled": 0}, "COMPLETED"),
    ({"total": 3, "succeeded": 2, "skipped": 0, "failed": 1, "cancelled": 0}, "COMPLETED_WITH_ERRORS"),
    ({"total": 3, "succeeded": 0, "skipped": 1, "failed": 2, "cancelled": 0}, "COMPLETED_WITH_ERRORS"),
    ({"total": 3, "succeeded": 0, "skipped": 0, "failed": 3, "cancelled": 0}, "FAILED"),
    ({"total": 3, "succeeded": 2, "skipped": 0, "failed": 0, "cancelled": 0}, None),
])
def test_final_status(counts, expected):
    assert lifecycle.final_status(counts) == expected


def test_redelivered_claim_counts_once_and_finishes_once(app):
    batch = make_batch(["alpha text", "beta text"])
    lifecycle.submit_batch("default", batch.id)
    lifecycle.start_processing(batch.id, "default")
    first_id = item_ids(batch.id)[0]
    claim = items.claim_item(first_id, "default")
    again = items.claim_item(first_id, "default")  # the broker redelivered the message
    assert again.attempt == 2
    assert counters.processed(counters.read_counts(catalog.find_batch("default", batch.id))) == 0  # claims count nothing
    assert items.embed_claimed(again) == "SUCCEEDED"
    assert items.embed_claimed(claim) == "SUCCEEDED"  # the first delivery finishing late changes nothing
    counts = counters.read_counts(catalog.find_batch("default", batch.id))
    assert counts["succeeded"] == 1 and counters.processed(counts) == 1
    assert items.process_item(first_id, "default") == {"item_id": first_id, "status": "SUCCEEDED"}
    with session_scope() as session:
        assert session.get(BatchItem, first_id).attempts == 2


def test_known_content_is_skipped_and_force_overwrite_replaces(app):
    first = make_batch(["same words in both batches"], collection="dedup")
    lifecycle.submit_batch("default", first.id)
    lifecycle.start_processing(first.id, "default")
    assert items.process_item(item_ids(first.id)[0], "default")["status"] == "SUCCEEDED"
    landed = vector_count("dedup")
    second = make_batch(["same words in both batches"], collection="dedup")
    lifecycle.submit_batch("default", second.id)
    lifecycle.start_processing(second.id, "default")
    assert items.process_item(item_ids(second.id)[0], "default")["status"] == "SKIPPED"
    third = make_batch(["same words in both batches"], collection="dedup", force_overwrite=True)
    lifecycle.submit_batch("default", third.id)
    lifecycle.start_processing(third.id, "default")
    assert items.process_item(item_ids(third.id)[0], "default")["status"] == "SUCCEEDED"
    assert vector_count("dedup") == landed >= 1


def test_cancelled_batch_items_end_cancelled_and_finalize_is_idempotent(app):
    batch = make_batch(["one", "two", "three"])
    lifecycle.submit_batch("default", batch.id)
    lifecycle.start_processing(batch.id, "default")
    first, *rest = item_ids(batch.id)
    items.process_item(first, "default")
    assert lifecycle.cancel_batch("default", batch.id)["previous_state"] == "PROCESSING"
    assert [items.process_item(i, "default")["status"] for i in rest] == ["CANCELLED", "CANCELLED"]
    done = lifecycle.finalize_batch(batch.id, "default")
    assert done.status == "CANCELLED" and done.changed is False
    counts = counters.read_counts(catalog.find_batch("default", batch.id))
    assert (counts["succeeded"], counts["cancelled"]) == (1, 2)
    with pytest.raises(InvalidState):
        lifecycle.cancel_batch("default", batch.id)


def test_finalize_waits_for_open_items_then_finishes_once(app):
    batch = make_batch(["a", "b"])
    lifecycle.submit_batch("default", batch.id)
    lifecycle.start_processing(batch.id, "default")
    first, second = item_ids(batch.id)
    items.process_item(first, "default")
    assert lifecycle.finalize_batch(batch.id, "default").changed is False  # one item still open
    items.process_item(second, "default")
    assert lifecycle.finalize_batch(batch.id, "default") == lifecycle.Finalization("COMPLETED", True)
    assert lifecycle.finalize_batch(batch.id, "default") == lifecycle.Finalization("COMPLETED", False)


def test_submit_rules(app):
    with pytest.raises(EmptyBatch):
        lifecycle.submit_batch("default", catalog.create_batch("default", "c").id)
    batch = make_batch(["x"])
    first = lifecycle.submit_batch("default", batch.id)
    again = lifecycle.submit_batch("default", batch.id)
    assert first.started and not again.started and first.task_id == again.task_id
    assert lifecycle.start_processing(batch.id, "default").item_ids and not lifecycle.start_processing(batch.id, "default").item_ids


def test_give_up_fails_an_open_item_once(app):
    batch = make_batch(["x"])
    lifecycle.submit_batch("default", batch.id)
    lifecycle.start_processing(batch.id, "default")
    (item_id,) = item_ids(batch.id)
    assert items.give_up(item_id, "OperationalError: database is locked") == "FAILED"
    assert items.give_up(item_id, "again") == "FAILED"
    counts = counters.read_counts(catalog.find_batch("default", batch.id))
    assert counts["failed"] == 1
    with session_scope() as session:
        item = session.get(BatchItem, item_id)
        assert item.error_type == "processing_error" and "database is locked" in item.error_message
