"""Packs of small files: planning by count and bytes, one fate per file, harmless duplicates, cancel mid-pack."""
from sqlalchemy import func, select

from tests.overrides import with_overrides
from app.db import session_scope
from app.models import BatchItem, Vector
from app.redis_client import key
from app.batches import catalog, items, lifecycle, packs
from app.batches.claims import claim_pack
from app.batches.store import store_outcomes
from app.progress.metrics import item_outcomes
from tests.helpers import new_batch, text_objects, upload
from tests.fixture_files import make_elf
from tasks.batch import embed_object


def started(client, object_ids, **fields):
    """A submitted batch moved to PROCESSING; returns (batch id, item ids)."""
    batch = new_batch(client, object_ids, **fields)
    lifecycle.submit_batch("default", batch["batch_id"])
    return batch["batch_id"], list(lifecycle.start_processing(batch["batch_id"], "default").item_ids)


def rows(batch_id):
    """(status, attempts, error_type) per item id."""
    with session_scope() as session:
        return {r.id: (r.status, r.attempts, r.error_type) for r in session.execute(
            select(BatchItem.id, BatchItem.status, BatchItem.attempts, BatchItem.error_type)
            .where(BatchItem.batch_id == batch_id))}


def vector_count():
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Vector))


def counters(fake_redis, batch_id):
    return fake_redis.hgetall(key("progress", batch_id))


def test_plan_packs_by_count_and_bytes_and_sends_large_files_alone(client, dispatched):
    with_overrides(PACK_MAX_ITEMS=4, PACK_MAX_BYTES=200, PACK_MAX_FILE_BYTES=100)
    ids = text_objects(client, 40, "plan")
    large = upload(client, {"large.txt": b"x " * 80}).get_json()["objects"][0]["object_id"]
    _, item_ids = started(client, ids + [large])
    plan = packs.plan_work(item_ids)
    assert sorted(sum(plan.packs, []) + plan.solo) == sorted(item_ids)
    assert all(2 <= len(p) <= 4 for p in plan.packs)
    with session_scope() as session:
        large_item = session.scalar(select(BatchItem.id).where(BatchItem.object_id == large))
    assert large_item in plan.solo
    with_overrides(PACK_MAX_ITEMS=50, PACK_MAX_BYTES=60, PACK_MAX_FILE_BYTES=100)   # each text is ~45 bytes
    assert packs.plan_work(item_ids).packs == []   # a pack of one is just a task


def test_one_bad_file_fails_only_itself_and_the_pack_is_counted_once(client, dispatched, fake_redis):
    ids = text_objects(client, 5, "pack")
    bad = upload(client, {"tool.bin": make_elf()}).get_json()["objects"][0]["object_id"]
    batch_id, item_ids = started(client, ids + [bad])
    result = packs.process_pack(batch_id, item_ids, "default")
    assert result.handoff == []
    statuses = rows(batch_id)
    assert sorted(s for s, _, _ in statuses.values()) == ["FAILED"] + ["SUCCEEDED"] * 5
    assert [e for s, a, e in statuses.values() if s == "FAILED"] == ["format_error"]
    assert {a for _, a, _ in statuses.values()} == {1}
    assert counters(fake_redis, batch_id) | {"last_progress_at": None} == {
        "total": "6", "succeeded": "5", "skipped": "0", "failed": "1", "cancelled": "0",
        "last_progress_at": None}
    assert item_outcomes() == {"succeeded": 5, "failed": 1}


def test_a_pack_and_a_lone_file_each_move_the_counters_in_one_redis_round_trip(client, dispatched, fake_redis,
                                                                               monkeypatch):
    batch_id, item_ids = started(client, text_objects(client, 5, "trip"))
    real = fake_redis.pipeline
    trips = []

    def counted(*args, **kwargs):
        pipe = real(*args, **kwargs)
        execute = pipe.execute
        pipe.execute = lambda *a, **k: trips.append(len(pipe.command_stack)) or execute(*a, **k)
        return pipe

    monkeypatch.setattr(fake_redis, "pipeline", counted)
    packs.process_pack(batch_id, item_ids[:4], "default")
    assert len(trips) == 1                                  # the claim moves no counter; the store moves them all
    items.process_item(item_ids[4], "default")
    assert len(trips) == 2
    assert counters(fake_redis, batch_id)["succeeded"] == "5"
    assert item_outcomes() == {"succeeded": 5}


def test_claims_read_which_contents_the_collection_already_holds(client, dispatched, fake_redis):
    ids = text_objects(client, 3, "known")
    first, first_items = started(client, ids[:2])
    packs.process_pack(first, first_items, "default")
    _, again = started(client, ids)                                   # two known contents, one new
    claims = {c.object_id: c.content_known for c in claim_pack(_, again, "default").claims}
    assert claims == {ids[0]: True, ids[1]: True, ids[2]: False}
    _, lone = started(client, ids[:1])
    assert items.claim_item(lone[0], "default").content_known is True
    _, forced = started(client, ids[:1], force_overwrite=True)        # rewritten whatever the collection holds
    assert items.claim_item(forced[0], "default").content_known is False


def test_a_duplicate_delivery_of_a_pack_changes_nothing(client, dispatched, fake_redis):
    batch_id, item_ids = started(client, text_objects(client, 6, "dup"))
    packs.process_pack(batch_id, item_ids, "default")
    before = (rows(batch_id), vector_count(), counters(fake_redis, batch_id), item_outcomes())
    again = packs.process_pack(batch_id, item_ids, "default")
    assert again.handoff == [] and set(again.statuses.values()) == {"SUCCEEDED"}
    assert (rows(batch_id), vector_count(), counters(fake_redis, batch_id), item_outcomes()) == before


def test_a_pack_whose_delivery_died_hands_its_files_back_one_by_one(client, dispatched, fake_redis):
    batch_id, item_ids = started(client, text_objects(client, 4, "dead"))
    claim_pack(batch_id, item_ids[:3], "default")        # a delivery took three files, then its worker died
    result = packs.process_pack(batch_id, item_ids, "default")   # the redelivery
    assert sorted(result.handoff) == sorted(item_ids[:3])
    assert result.statuses == {item_ids[3]: "SUCCEEDED"}
    for item_id in result.handoff:                       # what the task sends: one embed_object each
        embed_object.push_request()                      # outside the chord: no chord in the request
        try:
            assert embed_object.run(batch_id, item_id, "default")["status"] == "SUCCEEDED"
        finally:
            embed_object.pop_request()
    assert {a for s, a, _ in rows(batch_id).values()} == {1, 2}
    assert counters(fake_redis, batch_id)["succeeded"] == "4" and item_outcomes() == {"succeeded": 4}
    assert catalog.find_batch("default", batch_id).status == "COMPLETED"   # the last of them finalized it


def test_same_bytes_twice_in_one_pack_are_stored_once(client, dispatched):
    ids = [upload(client, {f"same-{n}.txt": b"identical words in two files"}).get_json()["objects"][0]["object_id"]
           for n in range(2)]
    batch_id, item_ids = started(client, ids)
    packs.process_pack(batch_id, item_ids, "default")
    assert sorted(s for s, _, _ in rows(batch_id).values()) == ["SKIPPED", "SUCCEEDED"]
    assert vector_count() == 1


def test_cancel_mid_pack_keeps_held_files_and_stops_the_queued_ones(client, dispatched, fake_redis):
    batch_id, item_ids = started(client, text_objects(client, 6, "cancel"))
    first, second = item_ids[:3], item_ids[3:]
    taken = claim_pack(batch_id, first, "default")                 # a pack is running...
    client.put(f"/v1/batches/{batch_id}/state", json={"state": "CANCELLED"})
    store_outcomes([items.work_on(c) for c in taken.claims])  # ...and finishes its files
    late = packs.process_pack(batch_id, second, "default")           # a queued pack arrives after the cancel
    assert set(late.statuses.values()) == {"CANCELLED"}
    statuses = rows(batch_id)
    assert [statuses[i][0] for i in first] == ["SUCCEEDED"] * 3 and [statuses[i][0] for i in second] == ["CANCELLED"] * 3
    lifecycle.finalize_batch(batch_id, "default")
    assert counters(fake_redis, batch_id) | {"last_progress_at": None} == {
        "total": "6", "succeeded": "3", "skipped": "0", "failed": "0", "cancelled": "3",
        "last_progress_at": None}
    assert item_outcomes() == {"succeeded": 3, "cancelled": 3}
