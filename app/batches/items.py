"""One item's journey: claim it, skip known content, extract and embed, store vectors, record the outcome."""
import logging
import time
from dataclasses import dataclass

from sqlalchemy import delete, exists, select, update
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError, OperationalError

from app.objects import storage
from app.settings import get_settings
from app.db import session_scope
from app.extractors import Extraction, ExtractionError, extract
from app.models import Batch, BatchItem, BatchStatus, Collection, ItemStatus, StoredObject, Vector, utcnow
from app.models.status import FINISHED_ITEM
from app.collections.catalog import record_vector_write
from app.collections.embedders import DEFAULT, EMBEDDERS
from app.batches.originals import ORIGINAL_DELETED, release_quietly
from app.progress.metrics import observe_item_duration
from app.progress.counters import count_transition

log = logging.getLogger(__name__)

# Worth another attempt (the database was busy or a connection dropped); anything else is the file's fault.
TRANSIENT_ERRORS = (OperationalError, RedisError, ConnectionError)


class ContentAlreadyStored(Exception):
    """Another item stored these bytes in the collection first (seen under the collection's write lock)."""


@dataclass(frozen=True)
class Claim:
    """What a worker needs to process an item, read once at claim time."""

    item_id: int
    batch_id: str
    namespace: str
    collection_id: str
    object_id: str
    filename: str
    sha256: str
    storage_path: str | None
    force_overwrite: bool
    record_history: bool
    attempt: int
    delete_originals: bool
    dimensions: int
    original_deleted: bool
    embedder: str


def _move_item(session, item_id: int, allowed, new: str, **values) -> bool:
    """Conditional item status change; true when this call made it."""
    result = session.execute(
        update(BatchItem).where(BatchItem.id == item_id, BatchItem.status.in_(list(allowed)))
        .values(status=new, updated_at=utcnow(), **values)
    )
    return result.rowcount == 1


def claim_item(item_id: int, namespace: str) -> Claim | str:
    """PENDING → PROCESSING (or re-take an item whose worker vanished); otherwise the item's final status."""
    with session_scope() as session:
        item = session.get(BatchItem, item_id)
        batch = session.get(Batch, item.batch_id) if item else None
        if item is None or batch is None or batch.namespace != namespace:
            return "MISSING"
        if item.status in FINISHED_ITEM:
            return item.status
        # Read before any UPDATE: an UPDATE through the session also refreshes `item` itself.
        old, attempt = item.status, item.attempts + 1
        if batch.status == BatchStatus.CANCELLED:
            if _move_item(session, item_id, {old}, ItemStatus.CANCELLED, finished_at=utcnow()):
                session.commit()
                count_transition(batch.id, old, ItemStatus.CANCELLED)
            return ItemStatus.CANCELLED
        if old == ItemStatus.PROCESSING and item.attempts >= get_settings().ITEM_MAX_ATTEMPTS:
            # Taken this many times and never finished: the file keeps killing its worker.
            return _quarantine(session, item)
        if not _move_item(session, item_id, {old}, ItemStatus.PROCESSING, attempts=attempt, started_at=utcnow()):
            return "RACED"
        obj = session.get(StoredObject, item.object_id)
        collection = session.get(Collection, (namespace, batch.collection_id))
        claim = Claim(item.id, batch.id, namespace, batch.collection_id, item.object_id, item.filename,
                      item.sha256, obj.storage_path if obj else None, batch.force_overwrite,
                      batch.include_processing_history, attempt, batch.delete_originals,
                      collection.dimensions if collection else EMBEDDERS[DEFAULT].dimensions,
                      obj is not None and obj.original_deleted_at is not None,
                      collection.embedder if collection else DEFAULT)
    if old != ItemStatus.PROCESSING:
        count_transition(claim.batch_id, old, ItemStatus.PROCESSING)
    return claim


def finish_item(claim: Claim, status: str, history: list | None = None, write=None, **values) -> str:
    """PROCESSING → a final status, optionally with vector writes in the same transaction."""
    if history is not None and claim.record_history:
        values["processing_history"] = [{"attempt": claim.attempt, **stage} for stage in history]
    with session_scope() as session:
        if write is not None:
            write(session)
        if not _move_item(session, claim.item_id, {ItemStatus.PROCESSING}, status, finished_at=utcnow(), **values):
            session.rollback()  # another delivery finished it first: keep its result, drop ours
            return session.get(BatchItem, claim.item_id).status
    count_transition(claim.batch_id, ItemStatus.PROCESSING, status)
    return status


def fail_item(claim: Claim, error_type: str, message: str, history: list | None = None) -> str:
    """Record a typed failure for the item."""
    return finish_item(claim, ItemStatus.FAILED, history, error_type=error_type, error_message=message[:2000])


def _content_known_in(session, claim: Claim) -> bool:
    """True when the collection already holds vectors for these exact bytes."""
    return bool(session.scalar(select(exists().where(
        Vector.namespace == claim.namespace, Vector.collection_id == claim.collection_id,
        Vector.sha256 == claim.sha256))))


def _content_known(claim: Claim) -> bool:
    """_content_known_in, in a transaction of its own."""
    with session_scope() as session:
        return _content_known_in(session, claim)


def _vector_writer(claim: Claim, extraction: Extraction):
    """A function that replaces this content's vectors in the collection inside the caller's transaction."""
    rows = [{
        "namespace": claim.namespace, "collection_id": claim.collection_id, "sha256": claim.sha256,
        "object_id": claim.object_id, "batch_id": claim.batch_id, "filename": claim.filename,
        "chunk_index": chunk.index, "page": chunk.page, "modality": extraction.modality, "text": chunk.text,
        "dimensions": extraction.dimensions, "embedding": chunk.vector.astype("<f4").tobytes(),
    } for chunk in extraction.chunks]

    def write(session):
        # First: it locks the collection (and re-creates it with the claim's embedder if it was deleted).
        record_vector_write(session, claim.namespace, claim.collection_id, claim.embedder)
        if not claim.force_overwrite and _content_known_in(session, claim):
            raise ContentAlreadyStored(claim.sha256)
        session.execute(delete(Vector).where(
            Vector.namespace == claim.namespace, Vector.collection_id == claim.collection_id,
            Vector.sha256 == claim.sha256))
        if rows:
            session.execute(Vector.__table__.insert(), rows)
    return write


def _stage(name: str, started: float, outcome: str) -> dict:
    """A processing-history entry."""
    return {"name": name, "duration_ms": round((time.perf_counter() - started) * 1000, 3), "outcome": outcome}


def _stages(records) -> list[dict]:
    """The extractor's stage records as JSON-ready dicts."""
    return [{"name": r.name, "duration_ms": round(r.duration_ms, 3), "outcome": r.outcome} for r in records or []]


def _caused_by(exc: BaseException, kinds: tuple) -> bool:
    """True when `exc` was raised while handling (or from) an exception of one of `kinds`."""
    seen = set()
    while exc is not None and id(exc) not in seen and kinds:
        if isinstance(exc, kinds):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def embed_claimed(claim: Claim, timeout_errors: tuple = (), deadline: float | None = None) -> str:
    """Read, extract, embed and store one claimed item; every per-file problem ends as a typed item error."""
    if not claim.force_overwrite and _content_known(claim):
        return finish_item(claim, ItemStatus.SKIPPED, [{"name": "dedup", "duration_ms": 0.0, "outcome": "skipped"}])
    if claim.original_deleted:
        return fail_item(claim, "processing_error", ORIGINAL_DELETED, [{"name": "read", "duration_ms": 0.0,
                                                                         "outcome": "error"}])
    embedder = EMBEDDERS.get(claim.embedder)
    if embedder is None or not embedder.available:
        return fail_item(claim, "processing_error", f"This worker cannot run the embedder {claim.embedder}: "
                         "install batchery[semantic] and route its queue to it.", [])
    history = []
    started = time.perf_counter()
    try:
        if claim.storage_path is None:
            raise FileNotFoundError("the object was deleted")
        data = storage.read_bytes(claim.storage_path)
        history.append(_stage("read", started, "ok"))
        extraction = extract(data, dimensions=claim.dimensions,
                             text_embedder=None if embedder.builtin else embedder.embed_texts,
                             embedder_name=embedder.name)
    except timeout_errors:
        return fail_item(claim, "timeout", "Processing took longer than the per-item time limit.", history)
    except TRANSIENT_ERRORS:
        raise  # the task retries the whole item with backoff
    except ExtractionError as exc:
        history += _stages(exc.stages)
        if _caused_by(exc, timeout_errors):  # an extractor wrapped the time limit as a decode failure
            return fail_item(claim, "timeout", "Processing took longer than the per-item time limit.", history)
        return fail_item(claim, exc.error_type, str(exc), history)
    except FileNotFoundError:
        return fail_item(claim, "processing_error", "The stored file of this object is missing.", history)
    except Exception as exc:  # a per-file bug must fail the item, never the batch
        log.exception("extraction of item %s failed", claim.item_id)
        return fail_item(claim, "processing_error", f"{type(exc).__name__}: {exc}", history)
    history += _stages(extraction.stages)
    if deadline is not None and time.monotonic() > deadline:
        # The limit's exception fired but a library swallowed it (pypdf, parsing leniently, does): the
        # extraction may be partial, so it is a timeout and nothing is stored.
        return fail_item(claim, "timeout", "Processing took longer than the per-item time limit.", history)
    for attempt in range(3):
        stored = time.perf_counter()
        try:
            return finish_item(claim, ItemStatus.SUCCEEDED, history + [_stage("store", stored, "ok")],
                               write=_vector_writer(claim, extraction), chunks=len(extraction.chunks),
                               dimensions=extraction.dimensions, media_type=extraction.media_type,
                               error_type=None, error_message=None)
        except (IntegrityError, ContentAlreadyStored):
            # Another item with the same bytes landed concurrently; it is now known content.
            if not claim.force_overwrite and _content_known(claim):
                return finish_item(claim, ItemStatus.SKIPPED, history)
    return fail_item(claim, "processing_error", "Could not store vectors after repeated conflicts.", history)


def process_item(item_id: int, namespace: str, timeout_errors: tuple = (), deadline: float | None = None) -> dict:
    """Claim and process one item (`deadline`: time.monotonic() of its time limit); returns a tiny summary."""
    claim = claim_item(item_id, namespace)
    if not isinstance(claim, Claim):
        return {"item_id": item_id, "status": claim}
    started = time.perf_counter()
    try:
        status = embed_claimed(claim, timeout_errors, deadline)
    except timeout_errors:
        status = fail_item(claim, "timeout", "Processing took longer than the per-item time limit.")
    if claim.delete_originals and status in (ItemStatus.SUCCEEDED, ItemStatus.SKIPPED):
        release_quietly(claim.object_id, claim.item_id)
    observe_item_duration(time.perf_counter() - started)
    return {"item_id": item_id, "status": status}


def give_up(item_id: int, message: str, attempts: int = 0) -> str:
    """End an open item FAILED after its transient errors used up every attempt (`attempts` of them)."""
    with session_scope() as session:
        item = session.get(BatchItem, item_id)
        if item is None or item.status in FINISHED_ITEM:
            return item.status if item else "MISSING"
        old = item.status
        # An attempt that failed before its claim reached the database still counts.
        if not _move_item(session, item_id, {old}, ItemStatus.FAILED, finished_at=utcnow(),
                          attempts=max(item.attempts, attempts), error_type="processing_error",
                          error_message=f"Gave up after {max(item.attempts, attempts)} attempts: {message}"[:2000]):
            return "RACED"
        batch_id = item.batch_id
    count_transition(batch_id, old, ItemStatus.FAILED)
    return ItemStatus.FAILED


def _quarantine(session, item: BatchItem, *conditions) -> str:
    """PROCESSING → FAILED for a file its worker died on every attempt; it is not tried again."""
    moved = session.execute(
        update(BatchItem).where(BatchItem.id == item.id, BatchItem.status == ItemStatus.PROCESSING,
                                BatchItem.attempts == item.attempts, *conditions)
        .values(status=ItemStatus.FAILED, finished_at=utcnow(), updated_at=utcnow(), error_type="processing_error",
                error_message=f"Quarantined: the worker died {item.attempts} times processing this file.")
    ).rowcount == 1
    if not moved:
        return "RACED"
    session.commit()
    count_transition(item.batch_id, ItemStatus.PROCESSING, ItemStatus.FAILED)
    log.error("item %s of %s quarantined after %s attempts", item.id, item.batch_id, item.attempts)
    return ItemStatus.FAILED


def quarantine_item(item_id: int, stale_before=None) -> str:
    """Quarantine an item still PROCESSING (and untouched since `stale_before`, when given); returns its status."""
    with session_scope() as session:
        item = session.get(BatchItem, item_id)
        if item is None or item.status != ItemStatus.PROCESSING:
            return item.status if item else "MISSING"
        return _quarantine(session, item, *([BatchItem.updated_at < stale_before] if stale_before else []))
