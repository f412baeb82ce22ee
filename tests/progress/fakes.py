"""A stand-in batch row and settings for the progress and health unit tests (times are Unix seconds)."""
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from app import settings as config


def at(seconds: float) -> datetime:
    """An aware UTC datetime from Unix seconds."""
    return datetime.fromtimestamp(seconds, timezone.utc)


def fake_batch(status="PROCESSING", started=None, completed=None, batch_id="bat_test", created=0.0):
    """What batch_view reads from a Batch row."""
    return SimpleNamespace(
        id=batch_id, name=None, namespace="default", collection_id="docs", status=status, task_id="tsk_test",
        created_at=at(created), submitted_at=at(created), started_at=at(started) if started is not None else None,
        completed_at=at(completed) if completed is not None else None, submit_at=None, force_overwrite=False,
        delete_originals=False,
        webhook_url=None, parent_batch_id=None, metadata_={}, error=None,
    )


def counts(total, succeeded=0, failed=0, skipped=0, cancelled=0, last=None, window=None):
    """A counters dict as read_counts returns it."""
    return {"total": total, "succeeded": succeeded, "failed": failed, "skipped": skipped, "cancelled": cancelled,
            "last_progress_at": last, "window": window}


@pytest.fixture
def settings():
    """Known thresholds and a test key prefix; the previous settings come back afterwards."""
    previous = config._current
    config.configure(config.load_settings({
        "REDIS_PREFIX": "unit:", "STALL_SECONDS": 300, "RATE_WINDOW_SECONDS": 120,
        "HEALTH_ERROR_RATIO": "0.1", "HEALTH_SLOW_RATIO": "0.25"}, environ={}))
    yield config.get_settings()
    config._current = previous
