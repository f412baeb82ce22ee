"""Collections: the index signature every vector write moves, and their counts cached per signature."""
import hashlib
import json
import logging
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import bindparam, delete, distinct, exists, func, select, update

from app.collections.embedders import DEFAULT, EMBEDDERS, get_embedder
from app.db import insert_ignoring_duplicates, session_scope
from app.errors import InvalidState, NotFound
from app.models import Batch, Collection, Vector, utcnow
from app.models.status import RUNNING_BATCH
from app.settings import get_settings
from app.redis_client import get_redis, key
from app.pagination import keyset_page

log = logging.getLogger(__name__)
STATS = "collection-stats"


@dataclass(frozen=True)
class CollectionState:
    """A collection's identity and the signature of its current vectors."""

    namespace: str
    collection_id: str
    dimensions: int
    embedder: str
    signature: str
    created_at: object
    updated_at: object


def index_signature(namespace: str, collection_id: str, created_at, generation: int) -> str:
    """An opaque string that changes with every vector write (and differs for a re-created collection)."""
    stamp = created_at.isoformat() if created_at is not None else ""
    digest = hashlib.sha256(f"{namespace}\0{collection_id}\0{stamp}\0{generation}".encode()).hexdigest()
    return f"{generation}-{digest[:16]}"


def _state(row) -> CollectionState:
    """A state from a collections row."""
    return CollectionState(row.namespace, row.collection_id, row.dimensions, row.embedder or DEFAULT,
                           index_signature(row.namespace, row.collection_id, row.created_at, row.generation or 0),
                           row.created_at, row.updated_at or row.created_at)


def read_state(session, namespace: str, collection_id: str) -> CollectionState:
    """The collection's current state (one primary-key read), or NotFound, also for another namespace's."""
    row = session.get(Collection, (namespace, collection_id))
    if row is None:
        raise NotFound(f"Collection {collection_id} not found.")
    return _state(row)


def _insert(session, namespace: str, collection_id: str, embedder) -> bool:
    """Add the collection's row unless it exists; true when this call made it."""
    return bool(insert_ignoring_duplicates(session, Collection, [{
        "namespace": namespace, "collection_id": collection_id, "dimensions": embedder.dimensions,
        "embedder": embedder.name,
    }]))


def ensure_collection(session, namespace: str, collection_id: str, embedder: str | None = None) -> Collection:
    """The collection, created on first use with `embedder` (default hashing-384); another than its own is 409."""
    row = session.get(Collection, (namespace, collection_id))
    if row is None:
        _insert(session, namespace, collection_id, get_embedder(embedder) if embedder else EMBEDDERS[DEFAULT])
        row = session.get(Collection, (namespace, collection_id))
    if embedder and row.embedder != embedder:
        raise InvalidState(f"Collection {collection_id} embeds with {row.embedder}, not {embedder}.",
                           {"collection_id": collection_id, "embedder": row.embedder})
    return row


def create_collection(namespace: str, collection_id: str, embedder: str | None = None) -> dict:
    """A new, empty collection with its embedder; an existing id is 409."""
    chosen = get_embedder(embedder or DEFAULT)
    with session_scope() as session:
        if not _insert(session, namespace, collection_id, chosen):
            raise InvalidState(f"Collection {collection_id} already exists.", {"collection_id": collection_id})
    return get_collection(namespace, collection_id)


def delete_collection(namespace: str, collection_id: str) -> None:
    """Remove a collection and its vectors; 409 while a queued or processing batch writes to it."""
    with session_scope() as session:
        # The row lock orders us with every vector write (record_vector_write takes it first).
        row = session.get(Collection, (namespace, collection_id), with_for_update=True)
        if row is None:
            raise NotFound(f"Collection {collection_id} not found.")
        busy = session.scalar(select(exists().where(
            Batch.namespace == namespace, Batch.collection_id == collection_id, Batch.status.in_(RUNNING_BATCH))))
        if busy:
            raise InvalidState(f"Collection {collection_id} has a queued or processing batch; cancel it or wait.",
                               {"collection_id": collection_id})
        session.execute(delete(Vector).where(Vector.namespace == namespace, Vector.collection_id == collection_id))
        session.delete(row)


def embed_queues(session, batch_ids) -> dict[str, str]:
    """Per batch, the Celery queue of its collection's embedder: where its embed_object tasks go."""
    rows = session.execute(select(Batch.id, Collection.embedder).outerjoin(
        Collection, (Batch.namespace == Collection.namespace) & (Batch.collection_id == Collection.collection_id))
        .where(Batch.id.in_(list(batch_ids)))).all()
    return {batch_id: EMBEDDERS.get(name or DEFAULT, EMBEDDERS[DEFAULT]).queue for batch_id, name in rows}


_collections = Collection.__table__
# Built once (every vector write runs it): SQLAlchemy memoizes its cache key, so executing it skips the building.
_BUMP = (update(_collections)
         .where(_collections.c.namespace == bindparam("_namespace"),
                _collections.c.collection_id == bindparam("_collection"))
         .values(generation=_collections.c.generation + 1,
                 updated_at=bindparam("_now", type_=_collections.c.updated_at.type)))


def record_vector_write(session, namespace: str, collection_id: str, embedder: str | None = None) -> None:
    """Move the signature; call FIRST in the transaction that writes the collection's vectors.

    Its row lock also serialises concurrent writers of one collection, so two writes of the same
    content never interleave (nor deadlock on the vectors' unique index).
    """
    values = {"_namespace": namespace, "_collection": collection_id, "_now": utcnow()}
    if session.execute(_BUMP, values).rowcount == 0:
        ensure_collection(session, namespace, collection_id, embedder)
        session.execute(_BUMP, values)


def _count(session, namespace: str, collection_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(documents, vectors) per collection; documents are distinct contents (sha256) with vectors."""
    rows = session.execute(
        select(Vector.collection_id, func.count(distinct(Vector.sha256)), func.count())
        .where(Vector.namespace == namespace, Vector.collection_id.in_(collection_ids))
        .group_by(Vector.collection_id)
    ).all()
    counts = dict.fromkeys(collection_ids, (0, 0))
    counts.update({cid: (documents, vectors) for cid, documents, vectors in rows})
    return counts


def _cached_counts(states: list[CollectionState]) -> dict[str, tuple[int, int]]:
    """Counts cached in Redis under the collections' current signatures; Redis trouble is a miss."""
    try:
        raw = get_redis().mget([key(STATS, s.namespace, s.collection_id) for s in states])
    except RedisError as exc:
        log.warning("collection stats cache unavailable: %s", exc)
        return {}
    found = {}
    for state, value in zip(states, raw):
        entry = json.loads(value) if value else None
        if entry and entry.get("signature") == state.signature:
            found[state.collection_id] = (entry["documents"], entry["vectors"])
    return found


def _cache_counts(state: CollectionState, counts: tuple[int, int]) -> None:
    """Remember counts for this signature (best effort)."""
    entry = {"namespace": state.namespace, "collection_id": state.collection_id, "signature": state.signature,
             "documents": counts[0], "vectors": counts[1]}
    try:
        get_redis().set(key(STATS, state.namespace, state.collection_id), json.dumps(entry),
                        ex=get_settings().SEARCH_CACHE_TTL_SECONDS)
    except RedisError as exc:
        log.warning("could not cache collection stats: %s", exc)


def _describe(session, states: list[CollectionState]) -> list[dict]:
    """The contract's collection objects; counts come from the cache while the signature matches."""
    counts = _cached_counts(states) if states else {}
    missing = [s for s in states if s.collection_id not in counts]
    if missing:
        fresh = _count(session, missing[0].namespace, [s.collection_id for s in missing])
        for state in missing:
            _cache_counts(state, fresh[state.collection_id])
        counts.update(fresh)
    return [{
        "collection_id": s.collection_id, "embedder": s.embedder, "documents": counts[s.collection_id][0],
        "vectors": counts[s.collection_id][1], "dimensions": s.dimensions, "index_signature": s.signature,
        "created_at": s.created_at, "updated_at": s.updated_at,
    } for s in states]


def get_collection(namespace: str, collection_id: str) -> dict:
    """One collection with its documents, vectors, dimensions and signature."""
    with session_scope() as session:
        return _describe(session, [read_state(session, namespace, collection_id)])[0]


def list_collections(namespace: str, limit: int = 50, cursor: str | None = None) -> tuple[list[dict], str | None]:
    """The namespace's collections by id; returns (collections, next_cursor)."""
    query = select(Collection).where(Collection.namespace == namespace)
    with session_scope() as session:
        rows, next_cursor = keyset_page(session, query, Collection.collection_id, cursor, limit, newest_first=False)
        return _describe(session, [_state(r) for r in rows]), next_cursor


def sweep_stale_stats() -> int:
    """Delete cached counts whose signature is no longer the collection's; returns how many."""
    client, removed = get_redis(), 0
    with session_scope() as session:
        for name in client.scan_iter(match=key(STATS, "*"), count=500):
            value = client.get(name)
            entry = json.loads(value) if value else None
            if entry is None:
                continue
            row = session.get(Collection, (entry.get("namespace"), entry.get("collection_id")))
            if row is None or _state(row).signature != entry.get("signature"):
                removed += client.delete(name)
    return removed
