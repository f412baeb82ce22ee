"""Upload, read, list and delete objects: files stored under generated names, with sha256 and size."""
import logging
from dataclasses import dataclass

from sqlalchemy import exists, select

from app.collections.content import release_content
from app.objects import storage
from app.settings import get_settings
from app.db import on_rollback, session_scope
from app.errors import InvalidState, NotFound, PayloadTooLarge
from app.extractors import sniff_media_type
from app.models import Batch, BatchItem, StoredObject
from app.models.status import RUNNING_BATCH
from app.objects.metadata import check_metadata
from app.pagination import keyset_page

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    """A file part as the services see it: a display name and a readable binary stream."""

    filename: str
    stream: object


def safe_filename(name: str | None, fallback: str = "upload") -> str:
    """A display name only: strip directories, control characters and excess length."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    return (name or fallback)[:255]


def describe_object(obj: StoredObject) -> dict:
    """The contract's object representation."""
    return {
        "object_id": obj.id, "filename": obj.filename, "media_type": obj.media_type,
        "size_bytes": obj.size_bytes, "sha256": obj.sha256, "bucket": obj.bucket,
        "metadata": obj.metadata_ or {}, "created_at": obj.created_at,
        "stored": obj.original_deleted_at is None,
    }


def _discard(key: str) -> None:
    """Delete bytes whose row never landed; during an outage the orphan cleanup does it later."""
    try:
        storage.delete(key)
    except storage.StorageUnavailable:
        log.warning("could not delete %s now; the orphan cleanup will", key)


def store_uploads(session, namespace: str, uploads: list[Upload], bucket: str = "default",
                  metadata: dict | None = None, max_file_bytes: int | None = None) -> list[StoredObject]:
    """Write each upload to storage and add its row; the files go again if the unit of work fails."""
    limit = get_settings().MAX_FILE_BYTES if max_file_bytes is None else max_file_bytes
    objects = []
    for upload in uploads:
        filename = safe_filename(upload.filename)
        try:
            stored = storage.save_stream(upload.stream, max_bytes=limit)
        except PayloadTooLarge as exc:
            exc.details["filename"] = filename
            raise
        on_rollback(session, lambda key=stored.key: _discard(key))
        obj = StoredObject(
            namespace=namespace, bucket=bucket, filename=filename, media_type=sniff_media_type(stored.head),
            size_bytes=stored.size, sha256=stored.sha256, storage_path=stored.key, metadata_=metadata or {},
        )
        session.add(obj)
        objects.append(obj)
    session.flush()
    return objects


def create_objects(namespace: str, uploads: list[Upload], bucket: str = "default",
                   metadata: dict | None = None, max_file_bytes: int | None = None) -> list[dict]:
    """Store uploads as new objects in one transaction."""
    check_metadata(metadata)
    with session_scope() as session:
        objects = store_uploads(session, namespace, uploads, bucket, metadata, max_file_bytes)
        return [describe_object(o) for o in objects]


def load_object(session, namespace: str, object_id: str) -> StoredObject:
    """An object of this namespace, or NotFound (the same answer for another namespace's id)."""
    obj = session.get(StoredObject, object_id)
    if obj is None or obj.namespace != namespace:
        raise NotFound(f"Object {object_id} not found.")
    return obj


def get_object(namespace: str, object_id: str) -> dict:
    """One object."""
    with session_scope() as session:
        return describe_object(load_object(session, namespace, object_id))


def list_objects(namespace: str, bucket: str | None = None, limit: int = 50, cursor: str | None = None):
    """Objects newest first, optionally of one bucket; returns (objects, next_cursor)."""
    query = select(StoredObject).where(StoredObject.namespace == namespace)
    if bucket:
        query = query.where(StoredObject.bucket == bucket)
    with session_scope() as session:
        rows, next_cursor = keyset_page(session, query, StoredObject.id, cursor, limit)
        return [describe_object(o) for o in rows], next_cursor


def delete_object(namespace: str, object_id: str) -> None:
    """Delete an object, its file and its vectors (unless a live twin holds them), unless a running batch needs it."""
    with session_scope() as session:
        obj = load_object(session, namespace, object_id)
        in_use = session.scalar(select(exists().where(
            BatchItem.object_id == object_id, BatchItem.batch_id == Batch.id, Batch.status.in_(RUNNING_BATCH),
        )))
        if in_use:
            raise InvalidState(f"Object {object_id} is part of a batch that is queued or processing.")
        key = obj.storage_path
        release_content(session, obj)
        session.delete(obj)
    _discard(key)
