"""Turns a batch row and its counters into the contract's Batch object: progress, message and health."""
import time
from datetime import timedelta

from app.config import get_settings
from app.models import BatchStatus
from app.models.base import utcnow
from app.models.status import FINISHED_BATCH

_STAGES = {BatchStatus.DRAFT: ("draft", 0), BatchStatus.QUEUED: ("dispatching", 1)}
STAGE_TOTAL = 3


def _duration(seconds: float) -> str:
    """A short human duration such as `4h 57m`, `3m 20s` or `12s`."""
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def _stage(batch, counts) -> dict:
    """Which of dispatching → embedding → finalizing the batch is in."""
    if batch.status in _STAGES:
        name, index = _STAGES[batch.status]
    elif batch.status in FINISHED_BATCH:
        name, index = "finished", STAGE_TOTAL
    else:
        done = counts["succeeded"] + counts["skipped"] + counts["failed"] + counts["cancelled"]
        name, index = ("finalizing", 3) if done >= counts["total"] else ("embedding", 2)
    return {"name": name, "index": index, "total": STAGE_TOTAL}


def build_progress(batch, counts: dict) -> dict:
    """The contract's progress block; the rate is items per second since processing started."""
    processed = counts["succeeded"] + counts["skipped"] + counts["failed"] + counts["cancelled"]
    total = counts["total"]
    rate = None
    eta = None
    if batch.started_at and processed:
        end = batch.completed_at or utcnow()
        elapsed = max((end - batch.started_at).total_seconds(), 1e-3)
        rate = round(processed / elapsed, 2)
        if batch.status not in FINISHED_BATCH and rate > 0:
            eta = int((total - processed) / rate)
    return {
        "processed": processed, "total": total,
        "percent": round(100.0 * processed / total, 1) if total else 0.0,
        "succeeded": counts["succeeded"], "skipped": counts["skipped"], "failed": counts["failed"],
        "errors": counts["failed"], "items_per_second": rate, "eta_seconds": eta,
        "current_stage": _stage(batch, counts),
    }


def status_message(batch, progress: dict) -> str:
    """One human line saying where the batch is or what happened."""
    total, done = progress["total"], progress["processed"]
    if batch.status == BatchStatus.DRAFT:
        when = f" · scheduled for {batch.submit_at.isoformat()}" if batch.submit_at else ""
        return f"Draft with {total:,} objects{when}"
    if batch.status == BatchStatus.QUEUED:
        return f"Queued {total:,} objects"
    if batch.status == BatchStatus.PROCESSING:
        parts = [f"Processing {done:,}/{total:,} objects ({progress['percent']}%)"]
        if progress["items_per_second"] is not None:
            parts.append(f"{progress['items_per_second']:,} items/sec")
        if progress["eta_seconds"] is not None:
            parts.append(f"~{_duration(progress['eta_seconds'])} remaining")
        return " · ".join(parts)
    verb = {BatchStatus.CANCELLED: "Cancelled", BatchStatus.FAILED: "Failed"}.get(batch.status, "Completed")
    parts = [f"{verb} {total:,} objects"]
    if progress["failed"]:
        parts.append(f"{progress['failed']:,} failed")
    if progress["skipped"]:
        parts.append(f"{progress['skipped']:,} skipped")
    if batch.started_at and batch.completed_at:
        parts.append(f"took {_duration((batch.completed_at - batch.started_at).total_seconds())}")
    return " · ".join(parts)


def assess_health(batch, counts: dict, progress: dict) -> tuple[str, int, list[str]]:
    """(health, stalled_seconds, reasons): unhealthy when stalled, degraded on errors."""
    reasons, stalled = [], 0
    settings = get_settings()
    if batch.status in (BatchStatus.QUEUED, BatchStatus.PROCESSING) and progress["processed"] < progress["total"]:
        since = counts.get("last_progress_at") or (batch.started_at or batch.submitted_at or batch.created_at).timestamp()
        stalled = int(max(time.time() - since, 0))
        if stalled >= settings.STALL_SECONDS:
            reasons.append(f"no progress for {_duration(stalled)} (threshold {_duration(settings.STALL_SECONDS)})")
            return "unhealthy", stalled, reasons
    if progress["failed"]:
        reasons.append(f"{progress['failed']:,} of {progress['processed']:,} processed items failed")
        return "degraded", stalled, reasons
    return "healthy", stalled, reasons


def describe_batch(batch, counts: dict) -> dict:
    """The full Batch object of the contract."""
    progress = build_progress(batch, counts)
    health, _, _ = assess_health(batch, counts, progress)
    eta = progress["eta_seconds"]
    return {
        "batch_id": batch.id, "batch_name": batch.name, "namespace": batch.namespace,
        "collection_id": batch.collection_id, "status": batch.status, "task_id": batch.task_id,
        "created_at": batch.created_at, "submitted_at": batch.submitted_at, "started_at": batch.started_at,
        "completed_at": batch.completed_at, "submit_at": batch.submit_at, "progress": progress,
        "status_message": status_message(batch, progress), "health": health,
        "estimated_completion": (utcnow() + timedelta(seconds=eta)) if eta is not None else None,
        "force_overwrite": batch.force_overwrite, "delete_originals": bool(batch.delete_originals),
        "webhook_url": batch.webhook_url,
        "parent_batch_id": batch.parent_batch_id, "metadata": batch.metadata_ or {}, "error": batch.error,
    }
