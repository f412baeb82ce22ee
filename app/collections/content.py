"""What happens to a collection's vectors when an object holding their content is deleted."""
from sqlalchemy import delete, select, update

from app.collections.catalog import record_vector_write
from app.models import Batch, BatchItem, ItemStatus, StoredObject, Vector


def _heir(session, obj: StoredObject, collection_id: str):
    """Another live object with the same bytes that a batch put into (or found already in) the collection."""
    return session.execute(
        select(StoredObject.id, StoredObject.filename)
        .join(BatchItem, BatchItem.object_id == StoredObject.id).join(Batch, Batch.id == BatchItem.batch_id)
        .where(StoredObject.namespace == obj.namespace, StoredObject.sha256 == obj.sha256,
               StoredObject.id != obj.id, Batch.namespace == obj.namespace, Batch.collection_id == collection_id,
               BatchItem.status.in_([ItemStatus.SUCCEEDED, ItemStatus.SKIPPED]))
        .order_by(StoredObject.created_at, StoredObject.id).limit(1)
    ).first()


def release_content(session, obj: StoredObject) -> None:
    """In every collection holding the object's content: hand the vectors to a live twin, else delete them."""
    collection_ids = session.scalars(select(Vector.collection_id).distinct().where(
        Vector.namespace == obj.namespace, Vector.sha256 == obj.sha256)).all()
    for collection_id in sorted(collection_ids):  # one lock order for every deleter
        record_vector_write(session, obj.namespace, collection_id)  # first: it locks the collection
        content = (Vector.namespace == obj.namespace, Vector.collection_id == collection_id,
                   Vector.sha256 == obj.sha256)
        heir = _heir(session, obj, collection_id)
        if heir is None:
            session.execute(delete(Vector).where(*content))
        else:  # hits and exports must never name a deleted object
            session.execute(update(Vector).where(*content, Vector.object_id == obj.id)
                            .values(object_id=heir.id, filename=heir.filename))
