"""Schedules and submit_at with two real beat processes (run by mistake) and a real worker.

The cron clock is moved forward by rewinding a schedule's next_run_at to the past: the same thing as
waiting for the tick, minus the minute.
"""
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from app.db import session_scope
from app.models import Batch, BatchItem, Schedule, ScheduleRun
from tests.integration.beat import beat_stack
from tests.integration.rabbitmq import ALSO_ON_RABBITMQ
from tests.integration.stack import wait_for
from tests.integration.test_pipeline import watch_until_finished

pytestmark = ALSO_ON_RABBITMQ   # beat-driven ticks through the periodic queue on RabbitMQ too


@pytest.fixture(scope="module")
def sstack(database_url, redis_db, broker_url, tmp_path_factory):
    """API + worker + two beats polling schedules every second."""
    overrides = {"SCHEDULER_INTERVAL_SECONDS": "1", "REAPER_INTERVAL_SECONDS": "2", "ITEM_LEASE_SECONDS": "30"}
    with beat_stack(database_url, redis_db, tmp_path_factory.mktemp("data"), overrides, beats=2,
                    broker_url=broker_url) as stack:
        yield stack


def put(client, bucket, *names):
    """Upload small distinct texts into a bucket; returns their ids."""
    files = [(io.BytesIO(f"{name} in {bucket}: some words.".encode()), name) for name in names]
    response = client.post("/v1/objects", data={"file": files, "bucket": bucket}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return [o["object_id"] for o in response.get_json()["objects"]]


def make_due(schedule_id, ago=timedelta(seconds=1)):
    """Move the clock to the schedule's tick: its next_run_at is now in the past."""
    tick = datetime.now(timezone.utc) - ago
    with session_scope() as session:
        session.execute(update(Schedule).where(Schedule.id == schedule_id).values(next_run_at=tick))
    return tick


def runs_of(client, schedule_id, count, timeout=60):
    """Wait until the schedule has `count` runs; returns them oldest first."""
    def enough():
        runs = client.get(f"/v1/schedules/{schedule_id}/runs").get_json()["runs"]
        return runs if len(runs) >= count else None
    return list(reversed(wait_for(enough, timeout, interval=0.2, message=f"{count} run(s) of {schedule_id}")))


def objects_in(batch_id):
    """The object ids of a batch."""
    with session_scope() as session:
        return set(session.scalars(select(BatchItem.object_id).where(BatchItem.batch_id == batch_id)))


def test_a_schedule_fires_once_per_tick_with_only_new_objects(sstack):
    client = sstack["client"]
    first = put(client, "inbox", "a.txt", "b.txt", "c.txt")
    put(client, "elsewhere", "x.txt")
    schedule = client.post("/v1/schedules", json={"name": "inbox", "cron": "0 0 1 1 *", "bucket": "inbox",
                                                  "collection_id": "sched"}).get_json()
    schedule_id = schedule["schedule_id"]

    tick = make_due(schedule_id)
    [run] = runs_of(client, schedule_id, 1)
    assert run["run_at"] == tick.isoformat() and run["objects"] == 3 and run["error"] is None
    final, _ = watch_until_finished(client, run["batch_id"], timeout=90)
    assert final["status"] == "COMPLETED" and objects_in(run["batch_id"]) == set(first)

    fresh = put(client, "inbox", "d.txt", "e.txt")
    make_due(schedule_id)
    second = runs_of(client, schedule_id, 2)[1]
    assert second["objects"] == 2 and objects_in(second["batch_id"]) == set(fresh)
    assert watch_until_finished(client, second["batch_id"], timeout=90)[0]["status"] == "COMPLETED"

    make_due(schedule_id)
    third = runs_of(client, schedule_id, 3)[2]
    assert third["batch_id"] is None and third["objects"] == 0
    next_run = datetime.fromisoformat(client.get(f"/v1/schedules/{schedule_id}").get_json()["next_run_at"])
    assert next_run > datetime.now(timezone.utc)
    # Two beats polled every second all along: still one run and one batch per tick.
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(ScheduleRun).where(ScheduleRun.schedule_id == schedule_id)) == 3
        assert session.scalar(select(func.count()).select_from(Batch).where(Batch.collection_id == "sched")) == 2


def test_a_beat_that_was_down_for_hours_runs_a_missed_schedule_once(sstack):
    client = sstack["client"]
    put(client, "late", "l.txt")
    schedule_id = client.post("/v1/schedules", json={"name": "late", "cron": "* * * * *", "bucket": "late",
                                                     "collection_id": "late"}).get_json()["schedule_id"]
    tick = make_due(schedule_id, ago=timedelta(hours=3))     # 180 ticks were missed
    restarted = datetime.now(timezone.utc)
    # The oldest run: under load the next minute's tick may already have run too by the time we look.
    run = runs_of(client, schedule_id, 1)[0]
    assert run["run_at"] == tick.isoformat() and run["objects"] == 1
    next_run = datetime.fromisoformat(client.get(f"/v1/schedules/{schedule_id}").get_json()["next_run_at"])
    assert restarted < next_run <= datetime.now(timezone.utc) + timedelta(minutes=1)
    assert watch_until_finished(client, run["batch_id"], timeout=90)[0]["status"] == "COMPLETED"
    runs = client.get(f"/v1/schedules/{schedule_id}/runs").get_json()["runs"]
    # Only ticks after the catch-up may have run since (a new minute may have begun meanwhile).
    assert [r["run_at"] for r in runs if datetime.fromisoformat(r["run_at"]) < restarted] == [tick.isoformat()]


def test_submit_at_submits_a_draft_at_its_time(sstack):
    client = sstack["client"]
    ids = put(client, "oneoff", "o1.txt", "o2.txt")
    when = (datetime.now(timezone.utc) + timedelta(seconds=3)).replace(microsecond=0)
    batch = client.post("/v1/batches", json={"collection_id": "oneoff", "object_ids": ids,
                                             "submit_at": when.isoformat()}).get_json()
    assert batch["status"] == "DRAFT" and "scheduled for" in batch["status_message"]
    final, seen = watch_until_finished(client, batch["batch_id"], timeout=90)
    assert final["status"] == "COMPLETED" and seen[0] == "DRAFT"
    assert datetime.fromisoformat(final["submitted_at"]) >= when
