"""embed_object's retry path: transient errors retried with backoff up to ITEM_MAX_ATTEMPTS, fatal ones not."""
import io
import time

import pytest
from billiard.exceptions import SoftTimeLimitExceeded
from celery.exceptions import Retry
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.objects import storage
from tests.overrides import with_overrides
from app.db import session_scope
from app.extractors import CorruptedFileError
from app.models import BatchItem, Vector
from app.redis_client import get_redis, key
from app.batches.claims import Refusal, Refused
from app.batches import catalog, items, lifecycle
from app.objects.catalog import Upload
from tasks.batch import embed_object


@pytest.fixture
def item(app):
    """One text item of a started batch: (batch_id, item_id)."""
    batch = catalog.create_batch("default", "docs", uploads=[Upload("a.txt", io.BytesIO(b"retry me, please"))])
    lifecycle.submit_batch("default", batch.id)
    [item_id] = lifecycle.start_processing(batch.id, "default").item_ids
    return batch.id, item_id


@pytest.fixture
def retries(monkeypatch):
    """Record what embed_object.retry is asked, instead of publishing a retry to a broker."""
    asked = []

    def fake_retry(exc=None, countdown=None, **_):
        asked.append({"exc": exc, "countdown": countdown})
        return Retry("retry", exc, countdown)
    monkeypatch.setattr(embed_object, "retry", fake_retry)
    return asked


def deliver(batch_id, item_id, retries_so_far):
    """Run the task body as the worker would for the given delivery (request.retries)."""
    embed_object.push_request(retries=retries_so_far)
    try:
        return embed_object.run(batch_id, item_id, "default")
    finally:
        embed_object.pop_request()


def stored(item_id):
    """The item row."""
    with session_scope() as session:
        return session.get(BatchItem, item_id)


def failing_reads(monkeypatch, times):
    """Make storage reads raise a transient database error `times` times, then work."""
    real, calls = storage.read_bytes, []

    def read(path):
        calls.append(path)
        if len(calls) <= times:
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))
        return real(path)
    monkeypatch.setattr(storage, "read_bytes", read)
    return calls


def test_transient_error_is_retried_with_backoff_then_succeeds(item, retries, monkeypatch):
    batch_id, item_id = item
    failing_reads(monkeypatch, times=1)
    with pytest.raises(Retry):
        deliver(batch_id, item_id, 0)
    assert len(retries) == 1 and isinstance(retries[0]["exc"], OperationalError)
    assert 0 <= retries[0]["countdown"] <= 2.0  # full jitter over 2**(retries+1) seconds
    assert stored(item_id).status == "PROCESSING"
    assert deliver(batch_id, item_id, 1) == {"item_id": item_id, "status": "SUCCEEDED"}
    row = stored(item_id)
    assert row.attempts == 2 and row.chunks == 1 and row.error_type is None


def test_transient_errors_every_time_end_failed_after_max_attempts(item, retries, monkeypatch):
    with_overrides(ITEM_MAX_ATTEMPTS=3)
    batch_id, item_id = item
    failing_reads(monkeypatch, times=100)
    for delivery in range(2):
        with pytest.raises(Retry):
            deliver(batch_id, item_id, delivery)
    assert [r["countdown"] <= 2.0 ** (n + 1) for n, r in enumerate(retries)] == [True, True]
    assert deliver(batch_id, item_id, 2) == {"item_id": item_id, "status": "FAILED"}
    assert len(retries) == 2  # the last attempt gives up instead of asking again
    row = stored(item_id)
    assert row.attempts == 3 and row.error_type == "processing_error"
    assert "Gave up after 3 attempts" in row.error_message and "database is locked" in row.error_message


def test_attempts_that_never_reached_the_database_still_count(item):
    _, item_id = item
    assert items.give_up(item_id, "OperationalError: connection refused", attempts=3) == "FAILED"
    assert stored(item_id).attempts == 3


def test_fatal_errors_are_not_retried(item, retries, monkeypatch):
    batch_id, item_id = item

    def broken(*_, **__):
        raise ValueError("a bug in an extractor")
    monkeypatch.setattr(items, "extract", broken)
    assert deliver(batch_id, item_id, 0)["status"] == "FAILED"
    row = stored(item_id)
    assert retries == [] and row.attempts == 1
    assert (row.error_type, row.error_message) == ("processing_error", "ValueError: a bug in an extractor")


def test_soft_time_limit_ends_the_item_as_timeout(item, retries, monkeypatch):
    batch_id, item_id = item

    def slow(*_, **__):
        raise SoftTimeLimitExceeded()
    monkeypatch.setattr(items, "extract", slow)
    assert deliver(batch_id, item_id, 0)["status"] == "FAILED"
    assert retries == [] and stored(item_id).error_type == "timeout"


def test_a_time_limit_an_extractor_wrapped_is_still_a_timeout(item, retries, monkeypatch):
    batch_id, item_id = item

    def wrapping(*_, **__):
        try:
            raise SoftTimeLimitExceeded()
        except Exception as exc:  # as decode_pdf does with anything pypdf raises
            raise CorruptedFileError(f"PDF does not decode: {exc!r}") from exc
    monkeypatch.setattr(items, "extract", wrapping)
    assert deliver(batch_id, item_id, 0)["status"] == "FAILED"
    assert stored(item_id).error_type == "timeout"


def test_an_extraction_that_ends_past_its_deadline_is_a_timeout_and_stores_nothing(item):
    _, item_id = item
    # What a library that swallowed SoftTimeLimitExceeded looks like: extract() returns, but late.
    assert items.process_item(item_id, "default", deadline=time.monotonic() - 1)["status"] == "FAILED"
    row = stored(item_id)
    assert (row.error_type, row.chunks) == ("timeout", None)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Vector)) == 0


def test_an_item_of_a_cancelled_batch_moves_its_progress_counter(item):
    batch_id, item_id = item
    items.claim_item(item_id, "default")  # PROCESSING
    lifecycle.cancel_batch("default", batch_id)  # cancels PENDING items only; this one is held
    assert items.claim_item(item_id, "default") == Refused(Refusal.FINISHED, "CANCELLED")  # a redelivery after the cancel
    counters = get_redis().hgetall(key("progress", batch_id))
    assert (counters["succeeded"], counters["cancelled"]) == ("0", "1")
