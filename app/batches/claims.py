"""Claiming items for a worker: one transaction reads what the work needs and moves the items to PROCESSING."""
import logging
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import and_, bindparam, exists, select, update

from app.collections.embedders import DEFAULT, EMBEDDERS
from app.settings import get_settings
from app.db import session_scope
from app.models import Batch, BatchItem, BatchStatus, Collection, ItemStatus, StoredObject, Vector, utcnow
from app.models.status import FINISHED_ITEM
from app.progress.counters import count_transitions

log = logging.getLogger(__name__)


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
    embedder: str = DEFAULT
    content_known: bool = False   # the collection held vectors for these bytes at claim time


class Refusal(StrEnum):
    """Why a claim took nothing."""

    MISSING = "MISSING"    # no such item in this namespace
    FINISHED = "FINISHED"  # the item already has a final status
    RACED = "RACED"        # another delivery moved it between our read and our update


@dataclass(frozen=True)
class Refused:
    """A claim that took nothing; `status` is the item's status when it has one."""

    reason: Refusal
    status: str | None = None


@dataclass
class PackClaim:
    """What claiming a pack did: items it took, items a dead delivery holds, items settled without work."""

    claims: list[Claim] = field(default_factory=list)
    held: list[int] = field(default_factory=list)       # PROCESSING before this delivery: hand back one by one
    settled: dict[int, str] = field(default_factory=dict)


_items, _batches, _objects, _collections, _vectors = (
    model.__table__ for model in (BatchItem, Batch, StoredObject, Collection, Vector))
_NOW = bindparam("_now", type_=_items.c.updated_at.type)

# The hot statements of a claim are built once (Core, on the tables): SQLAlchemy memoizes a statement's cache
# key, so each execution skips building the expression and its key and finds the compiled form in the cache.
_ROWS = (
    select(_items.c.id, _items.c.status, _items.c.attempts, _items.c.object_id, _items.c.filename, _items.c.sha256,
           _batches.c.id.label("batch_id"), _batches.c.namespace, _batches.c.status.label("batch_status"),
           _batches.c.collection_id, _batches.c.force_overwrite, _batches.c.include_processing_history,
           _batches.c.delete_originals, _objects.c.storage_path, _objects.c.original_deleted_at,
           _collections.c.dimensions, _collections.c.embedder,
           # Whether the collection already holds vectors for these bytes (read in the same query).
           exists().where(_vectors.c.namespace == _batches.c.namespace,
                          _vectors.c.collection_id == _batches.c.collection_id,
                          _vectors.c.sha256 == _items.c.sha256).label("content_known"))
    .select_from(_items.join(_batches, _batches.c.id == _items.c.batch_id)
                 .outerjoin(_objects, _objects.c.id == _items.c.object_id)
                 .outerjoin(_collections, and_(_collections.c.namespace == _batches.c.namespace,
                                               _collections.c.collection_id == _batches.c.collection_id)))
    .where(_items.c.id.in_(bindparam("ids", expanding=True))))
_TAKE_ONE = (update(_items)
             .where(_items.c.id == bindparam("_id"), _items.c.status == bindparam("_status"),
                    _items.c.attempts == bindparam("_attempts"))
             .values(status=ItemStatus.PROCESSING, attempts=bindparam("_next_attempt"), started_at=_NOW,
                     updated_at=_NOW))


def _rows(session, item_ids: list[int]):
    """Each item with its batch, object and collection, and whether its content is known, in one query."""
    return session.execute(_ROWS, {"ids": list(item_ids)}).all()


def _claim(row, attempt: int) -> Claim:
    """A Claim from a claimed row."""
    return Claim(
        item_id=row.id, batch_id=row.batch_id, namespace=row.namespace, collection_id=row.collection_id,
        object_id=row.object_id, filename=row.filename, sha256=row.sha256, storage_path=row.storage_path,
        force_overwrite=row.force_overwrite, record_history=row.include_processing_history, attempt=attempt,
        delete_originals=row.delete_originals,
        dimensions=row.dimensions or EMBEDDERS[DEFAULT].dimensions, embedder=row.embedder or DEFAULT,
        original_deleted=row.original_deleted_at is not None,
        content_known=bool(row.content_known) and not row.force_overwrite)


def _move(session, ids, old: str, new: str, **values) -> list[int]:
    """Conditional status change of many items; returns the ids this call moved."""
    if not ids:
        return []
    return list(session.scalars(
        update(BatchItem).where(BatchItem.id.in_(list(ids)), BatchItem.status == old)
        .values(status=new, updated_at=utcnow(), **values).returning(BatchItem.id)
        .execution_options(synchronize_session=False)))


def _take(session, rows) -> list[Claim]:
    """PENDING → PROCESSING for these rows (one UPDATE); the claims of those this call moved."""
    now = utcnow()
    taken = set(_move(session, [r.id for r in rows], ItemStatus.PENDING, ItemStatus.PROCESSING,
                      attempts=BatchItem.attempts + 1, started_at=now))
    return [_claim(r, r.attempts + 1) for r in rows if r.id in taken]


def claim_pack(batch_id: str, item_ids: list[int], namespace: str) -> PackClaim:
    """Take a pack's PENDING items in one transaction; PROCESSING ones (a dead delivery's) are only reported."""
    result, moves = PackClaim(), []
    with session_scope() as session:
        rows = [r for r in _rows(session, item_ids) if r.namespace == namespace and r.batch_id == batch_id]
        result.settled = {item_id: Refusal.MISSING.value for item_id in set(item_ids) - {r.id for r in rows}}
        result.settled.update({r.id: r.status for r in rows if r.status in FINISHED_ITEM})
        rows = [r for r in rows if r.status not in FINISHED_ITEM]
        if rows and rows[0].batch_status == BatchStatus.CANCELLED:
            for old in (ItemStatus.PENDING, ItemStatus.PROCESSING):
                moved = _move(session, [r.id for r in rows if r.status == old], old, ItemStatus.CANCELLED,
                              finished_at=utcnow())
                moves += [(old, ItemStatus.CANCELLED)] * len(moved)
            result.settled.update({r.id: ItemStatus.CANCELLED for r in rows})
            rows = []
        pending = [r for r in rows if r.status == ItemStatus.PENDING]
        result.held = [r.id for r in rows if r.status == ItemStatus.PROCESSING]
        result.claims = _take(session, pending)
        moves += [(ItemStatus.PENDING, ItemStatus.PROCESSING)] * len(result.claims)
        taken = {c.item_id for c in result.claims}
        result.settled.update({r.id: Refusal.RACED.value for r in pending if r.id not in taken})
    count_transitions(batch_id, moves)
    return result


def claim_item(item_id: int, namespace: str) -> Claim | Refused:
    """PENDING → PROCESSING, or re-take an item whose worker vanished (quarantined at its last attempt)."""
    with session_scope() as session:
        rows = _rows(session, [item_id])
        if not rows or rows[0].namespace != namespace:
            return Refused(Refusal.MISSING)
        row = rows[0]
        if row.status in FINISHED_ITEM:
            return Refused(Refusal.FINISHED, row.status)
        if row.batch_status == BatchStatus.CANCELLED:
            if _move(session, [item_id], row.status, ItemStatus.CANCELLED, finished_at=utcnow()):
                session.commit()
                count_transitions(row.batch_id, [(row.status, ItemStatus.CANCELLED)])
            return Refused(Refusal.FINISHED, ItemStatus.CANCELLED)
        if row.status == ItemStatus.PROCESSING and row.attempts >= get_settings().ITEM_MAX_ATTEMPTS:
            # Taken this many times and never finished: the file keeps killing its worker.
            status = quarantine(session, row.id, row.batch_id, row.attempts)
            return Refused(Refusal.FINISHED, status) if status else Refused(Refusal.RACED)
        moved = session.execute(_TAKE_ONE, {"_id": item_id, "_status": row.status, "_attempts": row.attempts,
                                             "_next_attempt": row.attempts + 1, "_now": utcnow()}).rowcount == 1
        if not moved:
            return Refused(Refusal.RACED)
    # PENDING → PROCESSING moves no counter (see app.progress.counters): the claim costs no Redis round trip.
    return _claim(row, row.attempts + 1)


def quarantine(session, item_id: int, batch_id: str, attempts: int, *conditions) -> str | None:
    """PROCESSING → FAILED (committed) for a file its worker died on every attempt; None when it raced."""
    moved = session.execute(
        update(BatchItem).where(BatchItem.id == item_id, BatchItem.status == ItemStatus.PROCESSING,
                                BatchItem.attempts == attempts, *conditions)
        .values(status=ItemStatus.FAILED, finished_at=utcnow(), updated_at=utcnow(), error_type="processing_error",
                error_message=f"Quarantined: the worker died {attempts} times processing this file.")
    ).rowcount == 1
    if not moved:
        return None
    session.commit()
    count_transitions(batch_id, [(ItemStatus.PROCESSING, ItemStatus.FAILED)])
    log.error("item %s of %s quarantined after %s attempts", item_id, batch_id, attempts)
    return ItemStatus.FAILED


def quarantine_item(item_id: int, stale_before=None) -> str:
    """Quarantine an item still PROCESSING (and untouched since `stale_before`, when given); returns its status."""
    with session_scope() as session:
        item = session.get(BatchItem, item_id)
        if item is None or item.status != ItemStatus.PROCESSING:
            return item.status if item else Refusal.MISSING.value
        conditions = [BatchItem.updated_at < stale_before] if stale_before else []
        return quarantine(session, item.id, item.batch_id, item.attempts, *conditions) or Refusal.RACED.value
