"""The reaper's decisions on SQLite + fakeredis, with time moved by passing `now`."""
from datetime import timedelta

from sqlalchemy import select, update

from app.settings import get_settings
from app.db import session_scope
from app.models import Batch, BatchItem, utcnow
from app.redis_client import key
from app.batches.claims import Refusal, Refused
from app.batches import items, lifecycle
from app.maintenance.reaper import reconcile
from tests.helpers import new_batch, text_objects


def later(seconds=1):
    """A moment one lease (plus `seconds`) from now."""
    return utcnow() + timedelta(seconds=get_settings().ITEM_LEASE_SECONDS + seconds)


def running_batch(client, count=3):
    """A PROCESSING batch whose chord never went out: every item PENDING. Returns (batch_id, item ids)."""
    batch = new_batch(client, text_objects(client, count))
    lifecycle.submit_batch("default", batch["batch_id"])
    lifecycle.start_processing(batch["batch_id"], "default")
    with session_scope() as session:
        ids = session.scalars(select(BatchItem.id).where(BatchItem.batch_id == batch["batch_id"])
                              .order_by(BatchItem.id)).all()
    return batch["batch_id"], ids


def item(item_id):
    """The item row."""
    with session_scope() as session:
        return session.get(BatchItem, item_id)


def test_fresh_work_is_left_alone(client):
    running_batch(client)
    found = reconcile()
    assert found.items == [] and found.batches == [] and found.quarantined == [] and found.finalized == []


def test_a_silent_batch_has_its_pending_items_sent_again_once_per_lease(client):
    batch_id, ids = running_batch(client)
    moment = later()
    found = reconcile(now=moment)
    assert found.items == [(batch_id, i, "default") for i in ids]
    assert reconcile(now=moment).items == []                      # a second reaper at the same moment
    assert reconcile(now=moment + timedelta(seconds=1)).items == []   # the lease was renewed
    assert [i[1] for i in reconcile(now=moment + timedelta(seconds=get_settings().ITEM_LEASE_SECONDS + 1)).items] == ids


def test_with_an_empty_queue_pending_items_of_a_quiet_batch_go_after_a_heartbeat_period(client):
    batch_id, ids = running_batch(client)
    # Their message sat in a killed worker's prefetch: nothing in the queue, no heartbeat for a third of a lease.
    moment = utcnow() + timedelta(seconds=get_settings().ITEM_LEASE_SECONDS / 3 + 1)
    assert reconcile(now=moment).items == []                      # the queue may still hold them
    assert reconcile(now=moment, queue_empty=True).items == [(batch_id, i, "default") for i in ids]
    assert reconcile(now=moment, queue_empty=True).items == []    # claimed once


def test_a_live_item_s_heartbeat_keeps_its_lease(client):
    from app.batches import lease

    _, ids = running_batch(client, 1)
    items.claim_item(ids[0], "default")
    moment = later()
    with session_scope() as session:
        session.execute(update(BatchItem).where(BatchItem.id == ids[0]).values(updated_at=utcnow() - timedelta(
            seconds=get_settings().ITEM_LEASE_SECONDS + 5)))
    assert lease.renew(ids) == 1                                    # what the heartbeat thread does
    assert reconcile(now=moment - timedelta(seconds=2)).items == []


def test_pending_items_of_a_batch_that_makes_progress_wait_their_turn(client):
    batch_id, ids = running_batch(client)
    moment = later()
    with session_scope() as session:   # one item finished just now: the queue is moving
        session.execute(update(BatchItem).where(BatchItem.id == ids[0]).values(status="SUCCEEDED", updated_at=moment))
    assert reconcile(now=moment).items == []


def test_a_processing_item_whose_worker_vanished_is_sent_again_then_quarantined(client):
    batch_id, ids = running_batch(client, 2)
    claim = items.claim_item(ids[0], "default")
    assert claim.attempt == 1
    items.process_item(ids[1], "default")                   # the other item finished: the batch is not silent
    moment = later()
    with session_scope() as session:
        session.execute(update(BatchItem).where(BatchItem.id == ids[1]).values(updated_at=moment))
    assert reconcile(now=moment).items == [(batch_id, ids[0], "default")]

    max_attempts = get_settings().ITEM_MAX_ATTEMPTS
    with session_scope() as session:
        session.execute(update(BatchItem).where(BatchItem.id == ids[0]).values(attempts=max_attempts))
    found = reconcile(now=moment + timedelta(seconds=get_settings().ITEM_LEASE_SECONDS + 1))
    assert found.quarantined == [ids[0]] and found.items == []
    dead = item(ids[0])
    assert dead.status == "FAILED" and dead.error_type == "processing_error"
    assert dead.error_message == f"Quarantined: the worker died {max_attempts} times processing this file."
    assert found.finalized == [batch_id]
    assert client.get(f"/v1/batches/{batch_id}").get_json()["status"] == "COMPLETED_WITH_ERRORS"


def test_a_redelivered_item_at_its_last_attempt_is_quarantined_at_claim(client):
    _, ids = running_batch(client, 1)
    for attempt in range(1, get_settings().ITEM_MAX_ATTEMPTS + 1):   # each claim, then the worker dies
        assert items.claim_item(ids[0], "default").attempt == attempt
    assert items.process_item(ids[0], "default") == {"item_id": ids[0], "status": "FAILED"}
    assert "Quarantined" in item(ids[0]).error_message
    assert items.claim_item(ids[0], "default") == Refused(Refusal.FINISHED, "FAILED")


def test_a_queued_batch_whose_dispatch_never_arrived_is_dispatched_again(client):
    batch = new_batch(client, text_objects(client, 1))
    submission = lifecycle.submit_batch("default", batch["batch_id"])
    assert reconcile().batches == []
    moment = later()
    assert reconcile(now=moment).batches == [(batch["batch_id"], submission.task_id)]
    assert reconcile(now=moment).batches == []


def test_a_batch_whose_items_all_finished_is_finalized_once(client):
    batch_id, ids = running_batch(client, 2)
    for item_id in ids:
        items.process_item(item_id, "default")                     # outside any chord: no callback
    first = reconcile()
    assert first.finalized == [batch_id] and reconcile().finalized == []
    with session_scope() as session:
        assert session.get(Batch, batch_id).status == "COMPLETED"


def test_items_a_dead_worker_left_in_a_cancelled_batch_end_cancelled(client):
    batch_id, ids = running_batch(client, 2)
    items.claim_item(ids[0], "default")
    lifecycle.cancel_batch("default", batch_id)
    assert item(ids[0]).status == "PROCESSING"
    reconcile()
    assert item(ids[0]).status == "PROCESSING"                    # its worker may still finish it
    reconcile(now=later())
    assert item(ids[0]).status == "CANCELLED" and item(ids[1]).status == "CANCELLED"


def test_lost_redis_state_of_running_batches_is_rebuilt(client, fake_redis):
    batch_id, ids = running_batch(client, 3)
    items.process_item(ids[0], "default")
    task_id = client.get(f"/v1/batches/{batch_id}").get_json()["task_id"]
    fake_redis.flushdb()
    assert reconcile().rebuilt == 2
    counters = fake_redis.hgetall(key("progress", batch_id))
    assert counters["total"] == "3" and counters["succeeded"] == "1"
    status = client.get(f"/v1/tasks/{task_id}").get_json()
    assert status["status"] == "PROCESSING" and status["progress"]["processed"] == 1
    assert 0 < fake_redis.ttl(key("task", task_id)) <= 24 * 3600
    assert reconcile().rebuilt == 0
