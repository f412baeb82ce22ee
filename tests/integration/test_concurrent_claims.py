"""Two reapers, or two schedulers, at the same instant on a real database: each piece of work goes to one."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app import create_app, db
from app.settings import get_settings
from app.db import session_scope
from app.models import Batch, Schedule, ScheduleRun, utcnow
from app.redis_client import use_redis
from app.batches import lifecycle
from app.scheduling import runs
from app.maintenance.reaper import reconcile
from tests.helpers import new_batch, text_objects


@pytest.fixture(scope="module")
def client(database_url, redis_db, tmp_path_factory):
    """The API on the real database and Redis; no worker (nothing is dispatched here)."""
    data_dir = tmp_path_factory.mktemp("data")
    app = create_app({"AUTH_DISABLED": "1", "BATCHERY_DATA_DIR": str(data_dir), "DATABASE_URL": database_url,
                      "REDIS_URL": redis_db.url, "REDIS_PREFIX": f"claims-{data_dir.name}:"})
    use_redis(None)
    yield app.test_client()
    db.dispose_engine()


def at_once(count, work):
    """Run `work()` in `count` threads released together; returns their results."""
    barrier, results, errors = threading.Barrier(count), [None] * count, []

    def run(index):
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:  # surfaced below, not lost in a thread
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_two_reapers_never_hand_out_the_same_item_or_batch(client, sent_tasks):
    stalled = [new_batch(client, text_objects(client, 40, f"stall{n}"))["batch_id"] for n in range(3)]
    for batch_id in stalled:
        lifecycle.submit_batch("default", batch_id)
        lifecycle.start_processing(batch_id, "default")   # PROCESSING, and the chord never went out
    queued = new_batch(client, text_objects(client, 1, "queued"))["batch_id"]
    lifecycle.submit_batch("default", queued)       # QUEUED, and the dispatch never went out
    moment = utcnow() + timedelta(seconds=get_settings().ITEM_LEASE_SECONDS + 1)

    first, second = at_once(2, lambda: reconcile(now=moment))
    items = [i for _, i, _ in first.items], [i for _, i, _ in second.items]
    assert not set(items[0]) & set(items[1])
    assert len(items[0]) + len(items[1]) == 120 and len(set(items[0]) | set(items[1])) == 120
    task_id = lifecycle.submit_batch("default", queued).task_id
    assert sorted(first.batches + second.batches) == [(queued, task_id)]
    # Each claim was published once, after the claim committed.
    assert sorted(sent_tasks["batchery.embed_object"]) == sorted(first.items + second.items)
    assert sent_tasks["batchery.dispatch_batch"].count((queued, "default", task_id)) == 2   # submit + reaper


def test_two_schedulers_run_a_due_tick_once(client):
    text_objects(client, 3, "tick")
    schedule_id = client.post("/v1/schedules", json={"name": "twice", "cron": "0 0 1 1 *",
                                                     "collection_id": "ticks"}).get_json()["schedule_id"]
    tick = utcnow() - timedelta(seconds=1)
    with session_scope() as session:
        session.execute(update(Schedule).where(Schedule.id == schedule_id).values(next_run_at=tick))

    started = at_once(4, runs.run_due_schedules)
    assert sum(len(s) for s in started) == 1
    with session_scope() as session:
        tick_runs = select(func.count()).select_from(ScheduleRun).where(ScheduleRun.schedule_id == schedule_id)
        assert session.scalar(tick_runs) == 1
        assert session.scalar(select(func.count()).select_from(Batch).where(Batch.collection_id == "ticks")) == 1
