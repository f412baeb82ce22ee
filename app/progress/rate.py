"""A batch's recent completion rate: a sliding window of small per-time-slice counters in Redis.

Each finished item increments the counter of its time slice (`rate:<batch>:<slice>`, expiring once it
leaves the window). Reading sums the window's slices with one MGET, so the cost is fixed by the window,
never by the batch's size, and the rate follows what the workers do now rather than the lifetime average.
"""
from app.settings import get_settings
from app.redis_client import key

SLICES = 12  # the window is cut into this many counters


def slice_seconds() -> int:
    """Length of one time slice: a twelfth of the configured window, at least a second."""
    return max(1, get_settings().RATE_WINDOW_SECONDS // SLICES)


def _slice_keys(batch_id: str, now: float) -> tuple[list[str], float]:
    """The keys of the window's slices ending at `now`, and the time the oldest slice starts."""
    width = slice_seconds()
    current = int(now // width)
    first = current - SLICES + 1
    return [key("rate", batch_id, n) for n in range(first, current + 1)], float(first * width)


def record_finish(pipe, batch_id: str, now: float, count: int = 1) -> None:
    """Queue on `pipe` the count of `count` items finished at `now`."""
    width = slice_seconds()
    name = key("rate", batch_id, int(now // width))
    pipe.incrby(name, count)
    pipe.expire(name, width * (SLICES + 1))


def queue_window_read(pipe, batch_id: str, now: float) -> float:
    """Queue on `pipe` an MGET of the window's slices; returns the window's start time."""
    names, start = _slice_keys(batch_id, now)
    pipe.mget(names)
    return start


def window_total(values) -> int:
    """Items finished inside the window, from the MGET answer."""
    return sum(int(v) for v in values if v is not None)


def recent_rate(finished_in_window: int, window_start: float, started_at: float | None, now: float) -> float:
    """Items per second over the window (or since the batch started, when that is later)."""
    since = window_start if started_at is None else max(window_start, started_at)
    return finished_in_window / max(now - since, 1.0)
