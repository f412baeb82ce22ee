"""Per-batch progress counters in Redis, moved only by real status changes and rebuilt from the database."""
import time

from sqlalchemy import func, select

from app.settings import get_settings
from app.db import session_scope
from app.models import BatchItem, ItemStatus
from app.models.status import FINISHED_ITEM, RUNNING_BATCH
from app.redis_client import get_redis, key
from app.progress import rate
from app.progress.metrics import record_item_outcome

# Item status → counter field: the finished statuses. Nothing reads how many items are PENDING or PROCESSING
# (the contract's progress block has neither), so a claim (PENDING → PROCESSING) moves no counter and costs no
# Redis round trip: a pack or a lone file counts its items once, in one pipeline, when it stores their outcomes.
FIELDS = {
    ItemStatus.SUCCEEDED: "succeeded",
    ItemStatus.SKIPPED: "skipped",
    ItemStatus.FAILED: "failed",
    ItemStatus.CANCELLED: "cancelled",
}
COUNTERS = ("total", *FIELDS.values())


def processed(counts: dict) -> int:
    """Items that reached a finished status (succeeded, skipped, failed or cancelled)."""
    return sum(counts.get(FIELDS[status], 0) for status in FINISHED_ITEM)


def worked(counts: dict) -> int:
    """Items a worker finished (succeeded, skipped or failed): the rate's work; cancelled items were never worked on."""
    return processed(counts) - counts.get("cancelled", 0)


def progress_key(batch_id: str) -> str:
    """The Redis hash of a batch's counters."""
    return key("progress", batch_id)


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


def last_finish_in_db(session, batch_id: str) -> float | None:
    """When the batch's latest item finished (Unix time), for stall detection after a rebuild."""
    latest = session.scalar(select(func.max(BatchItem.finished_at)).where(BatchItem.batch_id == batch_id))
    return latest.timestamp() if latest is not None else None


def store_counts(batch_id: str, counts: dict, last_progress_at: float | None = None) -> None:
    """Overwrite a batch's counters (at submit, or when rebuilding after Redis lost them)."""
    name = progress_key(batch_id)
    mapping = {k: counts[k] for k in COUNTERS}
    if last_progress_at is not None:
        mapping["last_progress_at"] = last_progress_at
    pipe = get_redis().pipeline()
    pipe.hset(name, mapping=mapping)
    pipe.expire(name, get_settings().TASK_STATUS_TTL_SECONDS)
    pipe.execute()


def count_transition(batch_id: str, old: str, new: str, now: float | None = None) -> None:
    """Move one item between counters; call only after the database accepted that exact change."""
    count_transitions(batch_id, [(old, new)], now)


def count_transitions(batch_id: str, moves, now: float | None = None, extra=None) -> None:
    """Move items between counters, (old, new) each, in one pipeline; call only after the database accepted them.

    Moves between uncounted statuses (a claim) cost nothing; `last_progress_at` is when an item last
    finished (as the rebuild from the database has it). `extra(pipe)` may queue more commands (metrics) on
    the same round trip.
    """
    delta, finished = {}, {}
    for old, new in moves:
        if old in FIELDS:
            delta[FIELDS[old]] = delta.get(FIELDS[old], 0) - 1
        if new in FIELDS:
            delta[FIELDS[new]] = delta.get(FIELDS[new], 0) + 1
        if new in FINISHED_ITEM and old not in FINISHED_ITEM:
            finished[new] = finished.get(new, 0) + 1
    moved = any(delta.values())
    if not moved and extra is None:
        return
    now = time.time() if now is None else now
    name = progress_key(batch_id)
    pipe = get_redis().pipeline()
    for field, change in delta.items():
        if change:
            pipe.hincrby(name, field, change)
    worked = sum(count for status, count in finished.items() if status != ItemStatus.CANCELLED)
    if worked:  # the rate counts work done; a cancelled item was never worked on
        rate.record_finish(pipe, batch_id, now, worked)
    for status, count in finished.items():
        record_item_outcome(pipe, status, count)
    if moved:
        pipe.hset(name, "last_progress_at", now)
        pipe.expire(name, get_settings().TASK_STATUS_TTL_SECONDS)
    if extra is not None:
        extra(pipe)
    pipe.execute()


def _from_redis(batch, now: float) -> dict | None:
    """Counters and the recent-rate window in one round trip; None when the counters are gone."""
    pipe = get_redis().pipeline(transaction=False)
    pipe.hgetall(progress_key(batch.id))
    window_start = rate.queue_window_read(pipe, batch.id, now)
    raw, window = pipe.execute()
    if "total" not in raw:
        return None
    counts = {k: max(int(raw.get(k, 0)), 0) for k in COUNTERS}
    counts["last_progress_at"] = float(raw["last_progress_at"]) if "last_progress_at" in raw else None
    counts["window"] = (rate.window_total(window), window_start)
    return counts


def read_counts(batch, now: float | None = None) -> dict:
    """Counters: O(1) from Redis while the batch runs; from the database for drafts, finished batches, or lost keys.

    Besides the counters: `last_progress_at` (Unix time or None) and `window` ((items finished in the
    recent-rate window, window start) while running from Redis; None otherwise).
    """
    now = time.time() if now is None else now
    if batch.status in RUNNING_BATCH:
        counts = _from_redis(batch, now)
        if counts is not None:
            return counts
    with session_scope() as session:
        counts = count_items_in_db(session, batch.id)
        last = last_finish_in_db(session, batch.id) if batch.status in RUNNING_BATCH else None
    if batch.status in RUNNING_BATCH:
        store_counts(batch.id, counts, last)
    counts["last_progress_at"] = last
    counts["window"] = None
    return counts
