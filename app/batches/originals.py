"""`delete_originals`: remove an object's stored file once a batch has embedded it (the object row stays)."""
import logging

from sqlalchemy import exists, select, update

from app.objects import storage
from app.db import session_scope
from app.models import BatchItem, StoredObject, utcnow
from app.models.status import OPEN_ITEM

log = logging.getLogger(__name__)

ORIGINAL_DELETED = ("The original file of this object was deleted after an earlier batch embedded it "
                    "(delete_originals); upload the file again to embed it elsewhere.")


def release_original(object_id: str, item_id: int) -> bool:
    """Mark the object as not stored and delete its file, unless another unfinished item still needs it."""
    with session_scope() as session:
        needed_elsewhere = exists().where(BatchItem.object_id == object_id, BatchItem.id != item_id,
                                          BatchItem.status.in_(list(OPEN_ITEM)))
        marked = session.execute(
            update(StoredObject)
            .where(StoredObject.id == object_id, StoredObject.original_deleted_at.is_(None), ~needed_elsewhere)
            .values(original_deleted_at=utcnow())
        ).rowcount == 1
        path = session.scalar(select(StoredObject.storage_path).where(StoredObject.id == object_id)) if marked else None
    # The row is marked first: a crash between the two leaves an orphan file, never a row pointing nowhere.
    if path:
        storage.delete(path)
    return marked


def release_quietly(object_id: str, item_id: int) -> None:
    """release_original for a finished item: a failure keeps the file and never touches the item's result."""
    try:
        release_original(object_id, item_id)
    except Exception:
        log.exception("could not delete the original of %s; it stays stored", object_id)
