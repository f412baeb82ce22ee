"""Create, extend, read, list, delete and retry batches (the lifecycle moves live in lifecycle.py)."""
from sqlalchemy import and_, delete, func, or_, select

from app.db import insert_ignoring_duplicates, session_scope
from app.errors import EmptyBatch, InvalidState, NotFound
from app.models import Batch, BatchItem, BatchStatus, ItemStatus, StoredObject
from app.models.status import FINISHED_BATCH
from app.notifications.batch_changes import mark_changed_after_commit
from app.batches import limits
from app.collections.catalog import ensure_collection
from app.progress.view import describe_batch
from app.objects.catalog import Upload, store_uploads
from app.objects.metadata import check_metadata
from app.pagination import keyset_page
from app.progress.counters import read_counts


def load_batch(session, namespace: str, batch_id: str, for_update: bool = False) -> Batch:
    """A batch of this namespace, or NotFound (another namespace's id looks unknown)."""
    batch = session.get(Batch, batch_id, with_for_update=for_update)
    if batch is None or batch.namespace != namespace:
        raise NotFound(f"Batch {batch_id} not found.")
    return batch


def _objects_for(session, namespace: str, object_ids: list[str]) -> list[StoredObject]:
    """The named objects of this namespace, in the order given; any unknown id is NotFound."""
    wanted = list(dict.fromkeys(object_ids))
    found = {o.id: o for o in session.scalars(
        select(StoredObject).where(StoredObject.namespace == namespace, StoredObject.id.in_(wanted)))}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(f"{len(missing)} object id(s) not found.", {"object_ids": missing[:100]})
    return [found[i] for i in wanted]


def attach_objects(session, batch: Batch, objects: list[StoredObject]) -> int:
    """Add items for objects not yet in the batch (a repeat is a no-op); returns the new total."""
    insert_ignoring_duplicates(session, BatchItem, [{
        "batch_id": batch.id, "object_id": o.id, "filename": o.filename, "media_type": o.media_type,
        "sha256": o.sha256, "status": ItemStatus.PENDING, "attempts": 0, "processing_history": [],
    } for o in objects])
    mark_changed_after_commit(session, batch.id)
    batch.total_items = session.scalar(select(func.count()).where(BatchItem.batch_id == batch.id))
    return batch.total_items


def create_batch(namespace: str, collection_id: str, object_ids=(), uploads: list[Upload] = (),
                 name=None, force_overwrite=False, webhook_url=None, webhook_secret=None, metadata=None,
                 submit_at=None, bucket="default", parent_batch_id=None, delete_originals=False,
                 embedder=None) -> Batch:
    """A new DRAFT batch with the named objects and the uploaded files (stored as objects first)."""
    object_ids, uploads = list(object_ids), list(uploads)
    limits.check_object_count(len(set(object_ids)) + len(uploads))
    check_metadata(metadata)
    with session_scope() as session:
        objects = _objects_for(session, namespace, object_ids)
        objects += store_uploads(session, namespace, uploads, bucket=bucket)
        batch = Batch(
            namespace=namespace, collection_id=collection_id, name=name, status=BatchStatus.DRAFT,
            force_overwrite=bool(force_overwrite), delete_originals=bool(delete_originals),
            webhook_url=webhook_url, webhook_secret=webhook_secret,
            metadata_=metadata or {}, submit_at=submit_at, parent_batch_id=parent_batch_id,
        )
        session.add(batch)
        session.flush()
        ensure_collection(session, namespace, collection_id, embedder)
        attach_objects(session, batch, objects)
        limits.check_batch_contents(session, batch.id)
        return batch


def add_objects(namespace: str, batch_id: str, object_ids=(), uploads: list[Upload] = ()) -> Batch:
    """Add objects to a DRAFT batch."""
    with session_scope() as session:
        batch = load_batch(session, namespace, batch_id, for_update=True)
        if batch.status != BatchStatus.DRAFT:
            raise InvalidState(f"Objects can only be added to a DRAFT batch; this one is {batch.status}.",
                               {"status": batch.status})
        limits.check_object_count(batch.total_items + len(uploads))
        objects = _objects_for(session, namespace, list(object_ids))
        objects += store_uploads(session, namespace, list(uploads))
        attach_objects(session, batch, objects)
        limits.check_batch_contents(session, batch.id)
        return batch


def view_batch(batch: Batch) -> dict:
    """The contract's Batch object for a loaded row."""
    return describe_batch(batch, read_counts(batch))


def find_batch(namespace: str, batch_id: str) -> Batch:
    """A batch row of this namespace (detached), or NotFound."""
    with session_scope() as session:
        return load_batch(session, namespace, batch_id)


def get_batch(namespace: str, batch_id: str) -> dict:
    """One batch with live progress."""
    return view_batch(find_batch(namespace, batch_id))


def list_batches(namespace: str, status=None, collection_id=None, limit=50, cursor=None):
    """Batches newest first, filtered by status and collection; returns (batches, next_cursor)."""
    query = select(Batch).where(Batch.namespace == namespace)
    if status:
        query = query.where(Batch.status == status)
    if collection_id:
        query = query.where(Batch.collection_id == collection_id)
    with session_scope() as session:
        rows, next_cursor = keyset_page(session, query, Batch.id, cursor, limit)
    return [view_batch(b) for b in rows], next_cursor


def delete_batch(namespace: str, batch_id: str) -> None:
    """Delete a DRAFT or finished batch and its items (vectors stay in the collection)."""
    with session_scope() as session:
        batch = load_batch(session, namespace, batch_id, for_update=True)
        if batch.status != BatchStatus.DRAFT and batch.status not in FINISHED_BATCH:
            raise InvalidState(f"A {batch.status} batch cannot be deleted; cancel it first.",
                               {"status": batch.status})
        session.execute(delete(BatchItem).where(BatchItem.batch_id == batch.id))
        session.delete(batch)
        mark_changed_after_commit(session, batch.id)


# These fail again on the same bytes, so a retry skips them unless asked by name.
DETERMINISTIC_ERRORS = ("format_error", "corrupted_file")


def _retryable(parent_id: str, error_types, include_cancelled: bool):
    """The WHERE clause picking a finished batch's items to retry."""
    if error_types is None:
        failed = or_(BatchItem.error_type.is_(None), BatchItem.error_type.not_in(DETERMINISTIC_ERRORS))
    else:
        failed = BatchItem.error_type.in_(list(error_types))
    wanted = and_(BatchItem.status == ItemStatus.FAILED, failed)
    if include_cancelled:
        wanted = or_(wanted, BatchItem.status == ItemStatus.CANCELLED)
    return and_(BatchItem.batch_id == parent_id, wanted)


def retry_batch(namespace: str, batch_id: str, error_types=None, include_cancelled: bool = True) -> Batch:
    """A new DRAFT batch of a finished batch's retryable failed (and cancelled) items, same collection and options."""
    with session_scope() as session:
        parent = load_batch(session, namespace, batch_id)
        if parent.status not in FINISHED_BATCH:
            raise InvalidState(f"Only a finished batch can be retried; this one is {parent.status}.",
                               {"status": parent.status})
        object_ids = list(session.scalars(select(BatchItem.object_id).where(
            _retryable(parent.id, error_types, include_cancelled)).order_by(BatchItem.id)))
        existing = set(session.scalars(select(StoredObject.id).where(StoredObject.id.in_(object_ids))))
        object_ids = [i for i in object_ids if i in existing]
        if not object_ids:
            raise EmptyBatch("The batch has no items to retry with these options (format_error and corrupted_file "
                             "are only retried when named in error_types).",
                             {"error_types": error_types, "include_cancelled": include_cancelled})
        options = dict(name=f"retry of {parent.name or parent.id}", force_overwrite=parent.force_overwrite,
                       delete_originals=parent.delete_originals,
                       webhook_url=parent.webhook_url, webhook_secret=parent.webhook_secret,
                       metadata=parent.metadata_, parent_batch_id=parent.id)
    return create_batch(namespace, parent.collection_id, object_ids=object_ids, **options)
