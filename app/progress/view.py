"""Turns a batch row and its counters into the contract's Batch object: progress, message and health."""
import math
import time
from datetime import datetime, timedelta, timezone

from app.models import BatchStatus
from app.models.status import FINISHED_BATCH
from app.progress import counters
from app.progress.health import assess_health, duration_text, rate_text
from app.progress.rate import recent_rate

_STAGES = {BatchStatus.DRAFT: ("draft", 0), BatchStatus.QUEUED: ("dispatching", 1)}
STAGE_TOTAL = 3


def _stage(batch, processed: int, total: int) -> dict:
    """Which of dispatching → embedding → finalizing the batch is in."""
    if batch.status in _STAGES:
        name, index = _STAGES[batch.status]
    elif batch.status in FINISHED_BATCH:
        name, index = "finished", STAGE_TOTAL
    else:
        name, index = ("finalizing", 3) if processed >= total else ("embedding", 2)
    return {"name": name, "index": index, "total": STAGE_TOTAL}


def _rate(batch, counts: dict, now: float) -> float | None:
    """Finished work per second: the recent window while processing, the whole run once finished; None before any."""
    done = counters.worked(counts)
    if not batch.started_at or not done:
        return None
    started = batch.started_at.timestamp()
    if batch.status in FINISHED_BATCH:
        end = batch.completed_at.timestamp() if batch.completed_at else now
        return done / max(end - started, 1e-3)
    if counts.get("window") is None:  # counters were just rebuilt: the run's average until the window refills
        return done / max(now - started, 1.0)
    finished_in_window, window_start = counts["window"]
    return recent_rate(finished_in_window, window_start, started, now)


def _rounded(rate: float | None) -> float | None:
    """Two significant figures (1.4, 0.052, 1200.0): precise enough for a human, stable between polls."""
    return None if rate is None else float(f"{rate:.2g}")


def percent_done(processed: int, total: int) -> float:
    """Floored to one decimal, so 100.0 means done and a poll never shows more than happened."""
    return math.floor(1000 * processed / total) / 10 if total else 0.0


def build_progress(batch, counts: dict, now: float | None = None) -> dict:
    """The contract's progress block; the ETA divides what remains by the recent rate."""
    now = time.time() if now is None else now
    processed = counters.processed(counts)
    total = counts["total"]
    rate = _rate(batch, counts, now)
    eta = None
    if batch.status in FINISHED_BATCH:
        eta = 0
    elif rate:
        eta = math.ceil((total - processed) / rate)
    return {
        "processed": processed, "total": total,
        "percent": percent_done(processed, total),
        "succeeded": counts["succeeded"], "skipped": counts["skipped"], "failed": counts["failed"],
        "cancelled": counts["cancelled"], "errors": counts["failed"], "items_per_second": _rounded(rate), "eta_seconds": eta,
        "current_stage": _stage(batch, processed, total),
    }


def _objects(count: int) -> str:
    """"1 object", "1,200 objects"."""
    return f"{count:,} object{'' if count == 1 else 's'}"


def status_message(batch, progress: dict) -> str:
    """One human line saying where the batch is or what happened."""
    total, done = progress["total"], progress["processed"]
    if batch.status == BatchStatus.DRAFT:
        when = f" · scheduled for {batch.submit_at.isoformat()}" if batch.submit_at else ""
        return f"Draft with {_objects(total)}{when}"
    if batch.status == BatchStatus.QUEUED:
        return f"Queued {_objects(total)}"
    if batch.status == BatchStatus.PROCESSING:
        parts = [f"Processing {done:,}/{total:,} objects ({progress['percent']}%)"]
        if progress["items_per_second"] is not None:
            parts.append(f"{rate_text(progress['items_per_second'])} items/sec")
        if progress["eta_seconds"] is not None and done < total:
            parts.append(f"~{duration_text(progress['eta_seconds'])} remaining")
        return " · ".join(parts)
    if batch.status == BatchStatus.CANCELLED:  # say what finished, not "Cancelled 2,000 objects"
        cancelled = progress["cancelled"]
        parts = ["Cancelled", f"{done - cancelled:,} of {_objects(total)} processed, {cancelled:,} cancelled"]
    else:
        verb = "Failed" if batch.status == BatchStatus.FAILED else "Completed"
        parts = [f"{verb} {_objects(total)}"]
    if progress["failed"]:
        parts.append(f"{progress['failed']:,} failed")
    if progress["skipped"]:
        parts.append(f"{progress['skipped']:,} skipped")
    if batch.started_at and batch.completed_at:
        parts.append(f"took {duration_text((batch.completed_at - batch.started_at).total_seconds())}")
    return " · ".join(parts)


def _estimated_completion(batch, eta: int | None, now: float):
    """When the batch finished, or now + ETA while it runs."""
    if batch.status in FINISHED_BATCH:
        return batch.completed_at
    return datetime.fromtimestamp(now, timezone.utc) + timedelta(seconds=eta) if eta is not None else None


def batch_health(batch, counts: dict, now: float | None = None):
    """The batch's Health (state, stalled seconds, reasons)."""
    now = time.time() if now is None else now
    return assess_health(batch, build_progress(batch, counts, now), counts.get("last_progress_at"), now)


def describe_batch(batch, counts: dict, now: float | None = None) -> dict:
    """The full Batch object of the contract."""
    now = time.time() if now is None else now
    progress = build_progress(batch, counts, now)
    health = assess_health(batch, progress, counts.get("last_progress_at"), now)
    return {
        "batch_id": batch.id, "batch_name": batch.name, "namespace": batch.namespace,
        "collection_id": batch.collection_id, "status": batch.status, "task_id": batch.task_id,
        "created_at": batch.created_at, "submitted_at": batch.submitted_at, "started_at": batch.started_at,
        "completed_at": batch.completed_at, "submit_at": batch.submit_at, "progress": progress,
        "status_message": status_message(batch, progress), "health": health.state,
        "estimated_completion": _estimated_completion(batch, progress["eta_seconds"], now),
        "force_overwrite": batch.force_overwrite, "delete_originals": bool(batch.delete_originals),
        "webhook_url": batch.webhook_url,
        "parent_batch_id": batch.parent_batch_id, "metadata": batch.metadata_ or {}, "error": batch.error,
    }
