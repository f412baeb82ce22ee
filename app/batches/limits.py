"""Batch size limits (objects and bytes); a refusal names the setting, the limit and what was asked for."""
from sqlalchemy import func, select

from app.settings import get_settings
from app.errors import BatchTooLarge
from app.models import BatchItem, StoredObject


def _refuse(what: str, setting: str, limit: int, actual: int) -> None:
    """Raise batch_too_large with the numbers a client needs to split its work."""
    raise BatchTooLarge(f"The batch would hold {actual} {what}; the limit is {limit} ({setting}).",
                        {"setting": setting, "limit": limit, "actual": actual})


def check_object_count(count: int) -> None:
    """Refuse a batch of more objects than MAX_BATCH_OBJECTS (cheap: checked before storing any upload)."""
    limit = get_settings().MAX_BATCH_OBJECTS
    if count > limit:
        _refuse("objects", "MAX_BATCH_OBJECTS", limit, count)


def check_batch_contents(session, batch_id: str) -> None:
    """Refuse when the batch's items, as flushed in this session, exceed the object or byte limits."""
    count, total_bytes = session.execute(
        select(func.count(BatchItem.id), func.coalesce(func.sum(StoredObject.size_bytes), 0))
        .select_from(BatchItem).outerjoin(StoredObject, StoredObject.id == BatchItem.object_id)
        .where(BatchItem.batch_id == batch_id)
    ).one()
    check_object_count(count)
    limit = get_settings().MAX_BATCH_BYTES
    if total_bytes > limit:
        _refuse("bytes", "MAX_BATCH_BYTES", limit, int(total_bytes))
