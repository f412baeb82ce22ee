"""Task status records in Redis: the fast answer to GET /v1/tasks/{id}, expiring after 24 hours."""
import json

from sqlalchemy import select

from app.settings import get_settings
from app.db import session_scope
from app.errors import NotFound
from app.models import Batch
from app.models.base import utcnow
from app.redis_client import get_redis, key
from app.progress.counters import processed as counters_processed, progress_key
from app.progress.view import percent_done


def write_task_status(task_id: str, batch_id: str, namespace: str, status: str, progress: dict | None = None,
                      created_at=None) -> None:
    """Create or update a task's status; every write renews the TTL (never beyond 24 h)."""
    now = utcnow().isoformat()
    mapping = {"task_id": task_id, "batch_id": batch_id, "namespace": namespace, "status": status, "updated_at": now}
    if progress is not None:
        mapping["progress"] = json.dumps(progress)
    name = key("task", task_id)
    pipe = get_redis().pipeline()
    pipe.hsetnx(name, "created_at", (created_at.isoformat() if created_at else now))
    pipe.hset(name, mapping=mapping)
    pipe.expire(name, get_settings().TASK_STATUS_TTL_SECONDS)
    pipe.execute()


def read_task_status(task_id: str) -> dict | None:
    """The stored status of a task, or None when it expired or never existed."""
    raw = get_redis().hgetall(key("task", task_id))
    if not raw:
        return None
    raw["progress"] = json.loads(raw["progress"]) if raw.get("progress") else None
    return raw


def get_task(namespace: str, task_id: str) -> dict:
    """A task's status and live counters, from Redis only; expired or unknown is NotFound pointing at the batch."""
    record = read_task_status(task_id)
    if record is None or record.get("namespace") != namespace:
        batch_id = None
        if record is None:
            with session_scope() as session:
                batch_id = session.scalar(select(Batch.id).where(Batch.task_id == task_id, Batch.namespace == namespace))
        hint = f" Its status expired after 24 hours; read GET /v1/batches/{batch_id} instead." if batch_id else ""
        raise NotFound(f"Task {task_id} not found.{hint}", {"batch_id": batch_id} if batch_id else {})
    counters = get_redis().hgetall(progress_key(record["batch_id"]))
    progress = record["progress"]
    if "total" in counters:
        counts = {k: int(v) for k, v in counters.items() if k != "last_progress_at"}
        processed = counters_processed(counts)
        progress = {**counts, "processed": processed,
                    "percent": percent_done(processed, counts.get("total", 0))}
    return {"task_id": task_id, "batch_id": record["batch_id"], "status": record["status"], "progress": progress,
            "created_at": record["created_at"], "updated_at": record["updated_at"]}
