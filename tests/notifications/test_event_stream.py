"""The SSE generator on SQLite + fakeredis with a fake clock: order, progress, resume, heartbeat, time bound."""
import pytest

from tests.overrides import with_overrides
from app.batches import catalog, lifecycle
from app.notifications import batch_changes, event_stream
from app.notifications.event_stream import stream_batch_events
from tests.helpers import new_batch, text_objects
from tests.sse_client import parse_sse


class FakeTime:
    """A clock that only moves when the stream sleeps; `on_sleep` runs once at the first sleep."""

    def __init__(self, on_sleep=None):
        self.now, self.on_sleep, self.sleeps = 0.0, on_sleep, 0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.sleeps += 1
        if self.on_sleep and self.sleeps == 1:
            self.on_sleep()


def run(batch_id, after=0, on_sleep=None):
    """The whole stream as text."""
    fake = FakeTime(on_sleep)
    return "".join(stream_batch_events("default", batch_id, after, clock=fake.clock, sleep=fake.sleep))


def status_of(message):
    """The batch status a message reports (an event carries it in its data)."""
    return message["data"]["status"] if message["event"] == "progress" else message["data"]["data"]["status"]


@pytest.fixture
def submitted(client, dispatched):
    batch = new_batch(client, text_objects(client, 3))
    lifecycle.submit_batch("default", batch["batch_id"])
    return batch["batch_id"]


def test_events_in_order_with_progress_until_the_final_event(submitted):
    text = run(submitted, on_sleep=lambda: lifecycle.cancel_batch("default", submitted))
    assert text.startswith("retry: 2000\n\n")
    messages = parse_sse(text)
    assert [(m["event"], status_of(m)) for m in messages] == [
        ("batch.submitted", "QUEUED"), ("progress", "QUEUED"), ("progress", "CANCELLED"),
        ("batch.cancelled", "CANCELLED")]
    submitted_id, cancelled_id = messages[0]["id"], messages[3]["id"]
    assert submitted_id < cancelled_id
    assert [m["id"] for m in messages] == [submitted_id, submitted_id, submitted_id, cancelled_id]
    assert messages[0]["data"]["event_id"].startswith("evt_") and messages[0]["data"]["data"]["batch_id"] == submitted
    assert messages[2]["data"]["progress"]["total"] == 3


def test_resume_after_an_event_sends_only_what_came_after(submitted):
    lifecycle.cancel_batch("default", submitted)
    first = parse_sse(run(submitted))
    submitted_id = first[0]["id"]
    resumed = parse_sse(run(submitted, after=submitted_id))
    assert [m["event"] for m in resumed] == ["progress", "batch.cancelled"]
    assert parse_sse(run(submitted, after=resumed[-1]["id"])) == [
        {"id": resumed[-1]["id"], "event": "progress", "data": resumed[0]["data"]}]


def test_an_idle_stream_sends_heartbeats_and_ends_at_its_time_limit(client):
    draft = new_batch(client, text_objects(client, 1))
    with_overrides(SSE_MAX_SECONDS=10, SSE_HEARTBEAT_SECONDS=3, SSE_POLL_MS=1000)
    text = run(draft["batch_id"])
    assert [m["event"] for m in parse_sse(text)] == ["progress"]        # a draft: no events, one progress
    assert text.count(": heartbeat\n\n") == 3


def timed(batch_id, on_sleep=None):
    """(fake time, text) of every piece the stream sent, and how many times it read the database."""
    fake, reads, sent = FakeTime(on_sleep), [], []
    tick = event_stream._tick

    def counted(*args):
        reads.append(fake.now)
        return tick(*args)
    event_stream._tick = counted
    try:
        for text in stream_batch_events("default", batch_id, 0, clock=fake.clock, sleep=fake.sleep):
            sent.append((fake.now, text))
    finally:
        event_stream._tick = tick
    return sent, reads


def totals(sent):
    """(fake time, progress total) of each progress message sent."""
    return [(at, m["data"]["progress"]["total"]) for at, text in sent for m in parse_sse(text) if m["event"] == "progress"]


def test_an_idle_stream_reads_the_database_only_at_its_recheck(client):
    draft = new_batch(client, text_objects(client, 1))
    with_overrides(SSE_MAX_SECONDS=60, SSE_POLL_MS=500)
    sent, reads = timed(draft["batch_id"])
    assert totals(sent) == [(0.0, 1)]
    # 120 polls: the first reads the database, then one read per recheck (the mark in Redis never moved).
    assert len(reads) == 60 // batch_changes.RECHECK_SECONDS
    assert all(b - a >= batch_changes.RECHECK_SECONDS for a, b in zip(reads, reads[1:]))


def test_a_marked_change_is_streamed_at_the_next_poll(client):
    draft = new_batch(client, text_objects(client, 1))
    more = text_objects(client, 2, prefix="more")
    with_overrides(SSE_MAX_SECONDS=5, SSE_POLL_MS=500)
    sent, _ = timed(draft["batch_id"], on_sleep=lambda: catalog.add_objects("default", draft["batch_id"], more))
    assert totals(sent) == [(0.0, 1), (0.5, 3)]


def test_a_change_whose_mark_was_lost_is_streamed_at_the_recheck(client, monkeypatch):
    draft = new_batch(client, text_objects(client, 1))
    more = text_objects(client, 2, prefix="more")
    monkeypatch.setattr(batch_changes, "mark_changed", lambda batch_id: None)  # as if Redis lost the bump
    with_overrides(SSE_MAX_SECONDS=30, SSE_POLL_MS=500)
    sent, _ = timed(draft["batch_id"], on_sleep=lambda: catalog.add_objects("default", draft["batch_id"], more))
    assert totals(sent) == [(0.0, 1), (batch_changes.RECHECK_SECONDS, 3)]
