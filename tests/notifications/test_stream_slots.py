"""The per-key cap on open event streams: taken, refused at the cap, given back on close, lapsed when abandoned."""
import pytest

from tests.overrides import with_overrides
from app.errors import RateLimited
from app.notifications import stream_slots
from app.notifications.stream_slots import HeldStream, StreamSlot, open_slot


@pytest.fixture(autouse=True)
def cap_of_two(fake_redis):
    with_overrides(SSE_MAX_STREAMS_PER_KEY=2, REDIS_PREFIX="test:")


def test_a_key_gets_its_cap_and_then_429_while_other_keys_are_unaffected():
    first, second = open_slot("key:a"), open_slot("key:a")
    with pytest.raises(RateLimited) as refused:
        open_slot("key:a")
    assert refused.value.details["setting"] == "SSE_MAX_STREAMS_PER_KEY" and refused.value.details["limit"] == 2
    open_slot("key:b")
    first.release()
    open_slot("key:a")
    assert second.member != first.member


def test_closing_a_stream_that_never_started_gives_its_slot_back():
    streams = [HeldStream(open_slot("key:a"), (c for c in ["retry: 2000\n\n"])) for _ in range(2)]
    with pytest.raises(RateLimited):
        open_slot("key:a")
    streams[0].close()  # the client left before the first byte: the generator never ran
    open_slot("key:a")


def test_a_finished_stream_releases_and_a_running_one_renews(monkeypatch):
    now = [1000.0]
    slot = StreamSlot("key:a", clock=lambda: now[0])
    assert slot.take(2)
    chunks = []
    for chunk in HeldStream(slot, (c for c in ["a", "b"])):
        now[0] += stream_slots.LEASE_SECONDS  # each chunk arrives a whole lease later: renewed every time
        chunks.append(chunk)
        assert StreamSlot("key:a", clock=lambda: now[0] - 1).take(1) is False  # still held
    assert chunks == ["a", "b"]
    assert StreamSlot("key:a", clock=lambda: now[0]).take(1)  # released at the end


def test_an_abandoned_slot_lapses_after_its_lease():
    StreamSlot("key:a", clock=lambda: 1000.0).take(1)  # a web process died holding it
    assert not StreamSlot("key:a", clock=lambda: 1000.0 + stream_slots.LEASE_SECONDS - 1).take(1)
    assert StreamSlot("key:a", clock=lambda: 1000.0 + stream_slots.LEASE_SECONDS + 1).take(1)


def test_no_cap_when_set_to_zero():
    with_overrides(SSE_MAX_STREAMS_PER_KEY=0)
    for _ in range(5):
        open_slot("key:a")
