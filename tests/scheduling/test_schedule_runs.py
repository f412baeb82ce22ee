"""Schedule ticks and submit_at on SQLite + fakeredis: one batch per tick with only new objects, exactly once."""
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from app.db import session_scope
from app.models import Batch, BatchItem, Schedule, ScheduleRun
from app.batches import items, lifecycle
from app.scheduling import runs, submit_at
from tests.helpers import new_batch, upload


def inbox(client, *names, bucket="inbox"):
    """Upload distinct small texts into a bucket; returns their object ids."""
    response = upload(client, {n: f"{n}: words about {n}".encode() for n in names}, bucket=bucket)
    assert response.status_code == 201, response.get_json()
    return [o["object_id"] for o in response.get_json()["objects"]]


def schedule(client, **fields):
    """A schedule on the inbox bucket; returns (schedule_id, its first tick)."""
    body = client.post("/v1/schedules", json={"name": "s", "cron": "*/5 * * * *", "bucket": "inbox",
                                              "collection_id": "docs", **fields}).get_json()
    return body["schedule_id"], body["next_run_at"] and datetime.fromisoformat(body["next_run_at"])


def work_through(batch_id):
    """What the worker's chord does: process every item, then finalize."""
    with session_scope() as session:
        ids = session.scalars(select(BatchItem.id).where(BatchItem.batch_id == batch_id)).all()
    lifecycle.start_processing(batch_id, "default")
    for item_id in ids:
        items.process_item(item_id, "default")
    return lifecycle.finalize_batch(batch_id, "default").status


def batch_objects(batch_id):
    """The object ids of a batch."""
    with session_scope() as session:
        return set(session.scalars(select(BatchItem.object_id).where(BatchItem.batch_id == batch_id)))


def run_history(client, schedule_id):
    """The schedule's runs, newest first."""
    return client.get(f"/v1/schedules/{schedule_id}/runs").get_json()["runs"]


def test_each_tick_submits_only_new_objects_once(client):
    first = inbox(client, "a.txt", "b.txt", "c.txt")
    inbox(client, "elsewhere.txt", bucket="other")
    schedule_id, tick = schedule(client)

    started = runs.run_due_schedules(now=tick + timedelta(seconds=1))
    assert len(started) == 1 and started[0].status == "QUEUED"
    batch_id = started[0].batch_id
    assert batch_objects(batch_id) == set(first)
    assert runs.run_due_schedules(now=tick + timedelta(seconds=2)) == []   # same tick, second beat
    assert [(r["run_at"], r["batch_id"], r["objects"], r["error"]) for r in run_history(client, schedule_id)] == [
        (tick.isoformat(), batch_id, 3, None)]
    assert client.get(f"/v1/schedules/{schedule_id}").get_json()["next_run_at"] == (tick + timedelta(minutes=5)).isoformat()
    assert client.get(f"/v1/batches/{batch_id}").get_json()["metadata"]["schedule_id"] == schedule_id
    assert work_through(batch_id) == "COMPLETED"

    fresh = inbox(client, "d.txt", "e.txt")
    second = runs.run_due_schedules(now=tick + timedelta(minutes=5, seconds=1))
    assert len(second) == 1 and batch_objects(second[0].batch_id) == set(fresh)
    work_through(second[0].batch_id)

    assert runs.run_due_schedules(now=tick + timedelta(minutes=10, seconds=1)) == []
    latest = run_history(client, schedule_id)
    assert len(latest) == 3 and latest[0]["batch_id"] is None and latest[0]["objects"] == 0
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Batch)) == 2


def test_objects_already_on_their_way_are_not_taken_twice(client, dispatched):
    ids = inbox(client, "a.txt", "b.txt")
    running = new_batch(client, ids[:1], collection_id="docs")
    client.post(f"/v1/batches/{running['batch_id']}/submit")
    new_batch(client, ids[1:], collection_id="elsewhere", auto_submit=True)   # another collection: no effect
    schedule_id, tick = schedule(client)
    started = runs.run_due_schedules(now=tick)
    assert batch_objects(started[0].batch_id) == {ids[1]}
    with session_scope() as session:
        scheduled = session.get(Batch, started[0].batch_id)
        assert scheduled.name.startswith("s · ") and scheduled.submit_at == tick


def test_failed_objects_are_offered_again_on_the_next_tick(client):
    from tests.fixture_files import make_elf

    bad = upload(client, {"tool.bin": make_elf()}, bucket="inbox").get_json()["objects"][0]["object_id"]
    schedule_id, tick = schedule(client)
    started = runs.run_due_schedules(now=tick)
    assert work_through(started[0].batch_id) == "FAILED"
    again = runs.run_due_schedules(now=tick + timedelta(minutes=5))
    assert batch_objects(again[0].batch_id) == {bad}   # "no successful result yet" includes failures


def test_missed_ticks_run_once_then_jump_to_the_future(client):
    inbox(client, "a.txt")
    schedule_id, tick = schedule(client)
    late = tick + timedelta(hours=3, minutes=2)
    assert len(runs.run_due_schedules(now=late)) == 1
    assert runs.run_due_schedules(now=late) == []
    assert [r["run_at"] for r in run_history(client, schedule_id)] == [tick.isoformat()]
    next_run = datetime.fromisoformat(client.get(f"/v1/schedules/{schedule_id}").get_json()["next_run_at"])
    assert next_run == tick + timedelta(hours=3, minutes=5)


def test_a_tick_that_fails_is_recorded_and_not_retried_in_a_loop(client, monkeypatch):
    inbox(client, "a.txt")
    schedule_id, tick = schedule(client)

    def broken(*_args):
        raise RuntimeError("bucket listing exploded")
    monkeypatch.setattr(runs, "new_objects", broken)
    assert runs.run_due_schedules(now=tick) == []
    assert runs.run_due_schedules(now=tick) == []
    [run] = run_history(client, schedule_id)
    assert run["batch_id"] is None and run["error"] == "RuntimeError: bucket listing exploded"
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Batch)) == 0


def test_disabled_schedules_do_not_fire(client):
    inbox(client, "a.txt")
    schedule_id, tick = schedule(client, enabled=False)
    assert tick is None
    assert runs.run_due_schedules(now=datetime.fromisoformat("2099-01-01T00:00:00+00:00")) == []
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(ScheduleRun)) == 0
        assert session.get(Schedule, schedule_id).next_run_at is None


def test_submit_at_keeps_the_batch_draft_until_its_time(client):
    ids = inbox(client, "a.txt", "b.txt")
    when = datetime.fromisoformat("2031-05-01T12:00:00+00:00")
    batch = new_batch(client, ids, submit_at=when.isoformat())
    assert batch["status"] == "DRAFT" and "scheduled for 2031-05-01T12:00:00" in batch["status_message"]
    assert submit_at.submit_due_batches(now=when - timedelta(seconds=1)) == []
    [submission] = submit_at.submit_due_batches(now=when)
    assert submission.batch_id == batch["batch_id"] and submission.started
    assert submit_at.submit_due_batches(now=when) == []      # a second beat starts nothing
    assert client.get(f"/v1/batches/{batch['batch_id']}").get_json()["status"] == "QUEUED"


def test_an_empty_scheduled_batch_is_unscheduled_with_a_reason(client):
    batch = new_batch(client, [], submit_at="2031-05-01T12:00:00Z")
    assert submit_at.submit_due_batches(now=datetime.fromisoformat("2031-06-01T00:00:00+00:00")) == []
    body = client.get(f"/v1/batches/{batch['batch_id']}").get_json()
    assert body["status"] == "DRAFT" and body["submit_at"] is None and "no objects" in body["error"]


def test_a_tick_that_already_ran_is_skipped_not_repeated(client):
    inbox(client, "a.txt")
    schedule_id, tick = schedule(client)
    assert len(runs.run_due_schedules(now=tick)) == 1
    with session_scope() as session:   # someone sets the clock back to the same tick
        session.execute(update(Schedule).where(Schedule.id == schedule_id).values(next_run_at=tick))
    inbox(client, "b.txt")
    assert runs.run_due_schedules(now=tick) == []
    assert [r["run_at"] for r in run_history(client, schedule_id)] == [tick.isoformat()]
    assert client.get(f"/v1/schedules/{schedule_id}").get_json()["next_run_at"] == (tick + timedelta(minutes=5)).isoformat()
