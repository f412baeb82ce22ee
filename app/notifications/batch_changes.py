"""A batch's change mark in Redis: an event stream reads it every poll and queries the database only when it moved.

Each committed status move, recorded event, added object or deletion bumps the mark; while the batch runs,
its progress counters (in Redis too) are part of the mark. An idle stream so costs one Redis round trip per
poll instead of three database queries, which is what kept the web workers busy under 50 open streams.
The database stays the truth: a stream reads it at least every RECHECK_SECONDS however quiet the mark,
so a lost bump (Redis flushed or down) delays a message, never loses one.
"""
import logging

from redis.exceptions import RedisError

from app.db import publish_after_commit
from app.progress.counters import progress_key
from app.redis_client import get_redis, key
from app.settings import get_settings

log = logging.getLogger(__name__)
RECHECK_SECONDS = 10


def mark_changed(batch_id: str) -> None:
    """Bump the batch's mark (never raises: streams fall back to reading the database)."""
    try:
        pipe = get_redis().pipeline()
        pipe.incr(key("changes", batch_id))
        pipe.expire(key("changes", batch_id), get_settings().TASK_STATUS_TTL_SECONDS)
        pipe.execute()
    except RedisError as exc:
        log.warning("could not mark batch %s changed (its streams see it within %ss): %s",
                    batch_id, RECHECK_SECONDS, exc)


def mark_changed_after_commit(session, batch_id: str) -> None:
    """Bump the batch's mark once this transaction commits, so a stream that sees the bump sees the rows."""
    publish_after_commit(session, mark_changed, batch_id)


def change_mark(batch_id: str) -> tuple:
    """What a stream compares between polls: the bump count and the progress counters, in one round trip."""
    pipe = get_redis().pipeline(transaction=False)
    pipe.get(key("changes", batch_id))
    pipe.hgetall(progress_key(batch_id))
    bumps, progress = pipe.execute()
    return bumps, tuple(sorted(progress.items()))


class ChangeWatch:
    """Tells a polling stream whether the database may hold something new for it since its last read."""

    def __init__(self, batch_id: str, clock):
        self.batch_id, self.clock = batch_id, clock
        self.mark, self.read_at = None, None

    def changed(self) -> bool:
        """True (and the caller reads the database now) when the mark moved, is unreadable, or a recheck is due."""
        try:
            mark = change_mark(self.batch_id)
        except RedisError:
            mark = None  # unknown: only the database can tell
        now = self.clock()
        if mark is not None and mark == self.mark and now - self.read_at < RECHECK_SECONDS:
            return False
        self.mark, self.read_at = mark, now
        return True

    def read_failed(self) -> None:
        """The database read after `changed()` failed: read again at the next poll."""
        self.mark = None
