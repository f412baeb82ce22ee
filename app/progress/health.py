"""Whether a batch is healthy, degraded (failing or slowing down) or unhealthy (stalled), and why."""
from dataclasses import dataclass, field

from app.settings import get_settings
from app.models import BatchStatus
from app.models.status import RUNNING_BATCH


@dataclass(frozen=True)
class Health:
    """A verdict with the seconds since the last progress (while items remain) and human reasons."""

    state: str
    stalled_seconds: int = 0
    reasons: list[str] = field(default_factory=list)


def duration_text(seconds: float) -> str:
    """A short human duration such as `4h 57m`, `3m 20s` or `12s`."""
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def rate_text(rate: float) -> str:
    """A rate as people write it: `1.4`, `0.05`, `1,200`."""
    return f"{int(rate):,}" if float(rate).is_integer() else f"{rate:,}"


def _stall(batch, progress: dict, last_progress_at: float | None, now: float) -> tuple[int, str | None]:
    """Seconds without progress while items remain, and the reason when that passes the threshold."""
    remaining = progress["total"] - progress["processed"]
    if batch.status not in RUNNING_BATCH or remaining <= 0:
        return 0, None
    reference = batch.started_at or batch.submitted_at or batch.created_at
    since = last_progress_at if last_progress_at is not None else reference.timestamp()
    stalled = int(max(now - since, 0))
    limit = get_settings().STALL_SECONDS
    if stalled < limit:
        return stalled, None
    return stalled, (f"No progress for {duration_text(stalled)} while {remaining:,} of {progress['total']:,} "
                     f"objects remain (threshold {duration_text(limit)}).")


def _failures(progress: dict) -> str | None:
    """The reason when the share of failed items is above the threshold."""
    failed, processed = progress["failed"], progress["processed"]
    threshold = get_settings().HEALTH_ERROR_RATIO
    if not processed or failed / processed <= threshold:
        return None
    return (f"{failed:,} of {processed:,} processed objects failed ({100 * failed / processed:.1f}%, "
            f"above the {100 * threshold:g}% threshold).")


def _slowdown(batch, progress: dict, now: float) -> str | None:
    """The reason when the recent rate fell below a fraction of the batch's average (once a full window ran)."""
    settings = get_settings()
    rate, processed = progress["items_per_second"], progress["processed"]
    if batch.status != BatchStatus.PROCESSING or rate is None or not batch.started_at:
        return None
    if processed >= progress["total"]:
        return None
    elapsed = now - batch.started_at.timestamp()
    if elapsed < settings.RATE_WINDOW_SECONDS or not processed:
        return None
    average = processed / elapsed
    if rate >= settings.HEALTH_SLOW_RATIO * average:
        return None
    shown = float(f"{average:.2g}")
    return (f"Processing slowed to {rate_text(rate)} items/sec, below {100 * settings.HEALTH_SLOW_RATIO:g}% "
            f"of this batch's average of {rate_text(shown)} items/sec.")


def assess_health(batch, progress: dict, last_progress_at: float | None, now: float) -> Health:
    """Unhealthy when stalled; degraded when too many items fail or processing slowed down; else healthy."""
    stalled, stall_reason = _stall(batch, progress, last_progress_at, now)
    reasons = [r for r in (stall_reason, _failures(progress), _slowdown(batch, progress, now)) if r]
    if stall_reason:
        return Health("unhealthy", stalled, reasons)
    return Health("degraded" if reasons else "healthy", stalled, reasons)
