"""Per-batch progress counters in Redis, moved only by real status changes and rebuilt from the database."""
import time

from sqlalchemy import func, select

from app.config import get_settings
from app.db import session_scope
from app.models import BatchItem, ItemStatus
from app.models.status import RUNNING_BATCH
from app.redis_client import get_redis, key

# Item status → counter field; PENDING is derived (total minus the rest).
FIELDS = {
    ItemStatus.PROCESSING: "processing",
    ItemStatus.SUCCEEDED: "succeeded",
    ItemStatus.SKIPPED: "skipped",
    ItemStatus.FAILED: "failed",
    ItemStatus.CANCELLED: "cancelled",
}
COUNTERS = ("total", *FIELDS.values())


def count_items_in_db(session, batch_id: str) -> dict:
    """Authoritative counters from the items table."""
    rows = session.execute(
        select(BatchItem.status, func.count()).where(BatchItem.batch_id == batch_id).group_by(BatchItem.status)
    ).all()
    counts = dict.fromkeys(COUNTERS, 0)
    for status, n in rows:
        counts["total"] += n
        if status in FIELDS:
            counts[FIELDS[status]] += n
    return counts


def store_counts(batch_id: str, counts: dict) -> None:
    """Overwrite a batch's counters (at submit, or when rebuilding after Redis lost them)."""
    name = key("progress", batch_id)
    pipe = get_redis().pipeline()
    pipe.hset(name, mapping={k: counts[k] for k in COUNTERS})
    pipe.expire(name, get_settings().TASK_STATUS_TTL_SECONDS)
    pipe.execute()


def count_transition(batch_id: str, old: str, new: str) -> None:
    """Move one item between counters; call only after the database accepted that exact change."""
    name = key("progress", batch_id)
    pipe = get_redis().pipeline()
    if old in FIELDS:
        pipe.hincrby(name, FIELDS[old], -1)
    if new in FIELDS:
        pipe.hincrby(name, FIELDS[new], 1)
    pipe.hset(name, "last_progress_at", time.time())
    pipe.expire(name, get_settings().TASK_STATUS_TTL_SECONDS)
    pipe.execute()


def read_counts(batch) -> dict:
    """Counters: O(1) from Redis while the batch runs; from the database for drafts, finished batches, or lost keys."""
    if batch.status in RUNNING_BATCH:
        raw = get_redis().hgetall(key("progress", batch.id))
        if "total" in raw:
            counts = {k: max(int(raw.get(k, 0)), 0) for k in COUNTERS}
            counts["last_progress_at"] = float(raw["last_progress_at"]) if "last_progress_at" in raw else None
            return counts
    with session_scope() as session:
        counts = count_items_in_db(session, batch.id)
    if batch.status in RUNNING_BATCH:
        store_counts(batch.id, counts)
    counts["last_progress_at"] = None
    return counts
