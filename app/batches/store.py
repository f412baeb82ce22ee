"""Storing outcomes: many items of one batch in one transaction (vectors and statuses), counted in one pipeline."""
import time

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from app.db import session_scope
from app.models import BatchItem, ItemStatus, Vector, utcnow
from app.collections.catalog import record_vector_write
from app.batches.outcomes import Outcome, failed, skipped, stage
from app.progress.metrics import queue_item_durations
from app.progress.counters import count_transitions

_ROWS_PER_INSERT = 500  # 12 columns a row: far below SQLite's 32,766 and PostgreSQL's 65,535 parameters


def _vector_rows(outcome: Outcome) -> list[dict]:
    """The vectors table rows of a successful outcome."""
    claim, extraction = outcome.claim, outcome.extraction
    return [{
        "namespace": claim.namespace, "collection_id": claim.collection_id, "sha256": claim.sha256,
        "object_id": claim.object_id, "batch_id": claim.batch_id, "filename": claim.filename,
        "chunk_index": chunk.index, "page": chunk.page, "modality": extraction.modality, "text": chunk.text,
        "dimensions": extraction.dimensions, "embedding": chunk.vector.astype("<f4").tobytes(),
    } for chunk in extraction.chunks]


# The statements every store runs are built once (Core, on the tables): SQLAlchemy memoizes a statement's cache
# key, so an execution skips building the expression and its key and finds the compiled form in the cache.
_items, _vectors = BatchItem.__table__, Vector.__table__
_KNOWN = (select(_vectors.c.sha256).distinct()
          .where(_vectors.c.namespace == bindparam("_namespace"), _vectors.c.collection_id == bindparam("_collection"),
                 _vectors.c.sha256.in_(bindparam("_shas", expanding=True))))
_INSERT_VECTORS = _vectors.insert()
_INSERT_VECTORS_RETURNING = _vectors.insert().returning(_vectors.c.id)
_OPEN = (select(_items.c.id).where(_items.c.id.in_(bindparam("_ids", expanding=True)),
                                   _items.c.status == ItemStatus.PROCESSING).with_for_update())
_STATUSES = select(_items.c.id, _items.c.status).where(_items.c.id.in_(bindparam("_ids", expanding=True)))
_finish_statements: dict[tuple, object] = {}


def _finish_statement(names: tuple):
    """The conditional UPDATE (PROCESSING → outcome) setting these columns, built once per set of columns."""
    statement = _finish_statements.get(names)
    if statement is None:
        now = bindparam("_now", type_=_items.c.finished_at.type)
        statement = _finish_statements[names] = (
            update(_items).where(_items.c.id == bindparam("_id"), _items.c.status == ItemStatus.PROCESSING)
            .values(finished_at=now, updated_at=now, **{name: bindparam(name) for name in names if name != "_id"}))
    return statement


def _settle_duplicates(session, outcomes: list[Outcome]) -> list[Outcome]:
    """Under the collection's lock: content stored meanwhile (or earlier in this list) ends SKIPPED, not written twice."""
    shas = {o.claim.sha256 for o in outcomes if o.status == ItemStatus.SUCCEEDED and not o.claim.force_overwrite}
    first = outcomes[0].claim
    known = set(session.scalars(_KNOWN, {"_namespace": first.namespace, "_collection": first.collection_id,
                                         "_shas": list(shas)})) if shas else set()
    settled, writing = [], set()
    for outcome in outcomes:
        sha = outcome.claim.sha256
        if outcome.status == ItemStatus.SUCCEEDED and not outcome.claim.force_overwrite and (
                sha in known or sha in writing):
            outcome = skipped(outcome.claim, outcome.history)
        elif outcome.status == ItemStatus.SUCCEEDED:
            writing.add(sha)
        settled.append(outcome)
    return settled


def _write_vectors(session, outcomes: list[Outcome]) -> None:
    """Replace the vectors of the succeeded outcomes' contents (each content once), in slices."""
    rows, seen = [], set()
    for outcome in outcomes:
        if outcome.status == ItemStatus.SUCCEEDED and outcome.claim.sha256 not in seen:
            seen.add(outcome.claim.sha256)
            rows += _vector_rows(outcome)
    if not seen:
        return
    first = outcomes[0].claim
    if any(o.claim.force_overwrite for o in outcomes):
        session.execute(delete(Vector).where(Vector.namespace == first.namespace,
                                             Vector.collection_id == first.collection_id,
                                             Vector.sha256.in_(list(seen))))
    insert_vectors(session, rows)


def insert_vectors(session, rows: list[dict]) -> None:
    """Insert vectors rows (dicts of the same columns); on SQLite one multi-row INSERT per _ROWS_PER_INSERT.

    Not an executemany (one statement per row) there: SQLite opens a statement savepoint for every
    statement that fires the full-text trigger, and FTS5 flushes its pending terms into a new index
    segment at each one, so row by row the index cost twice the CPU (benchmarks/bench_ingest_index.py).
    """
    statement = _INSERT_VECTORS
    if session.get_bind().dialect.name == "sqlite":
        # RETURNING makes SQLAlchemy send an executemany as multi-row INSERTs ("insertmanyvalues"), with
        # the statement compiled once; .values(rows) would compile a new statement per call. PostgreSQL
        # has no trigger (a generated column) and psycopg pipelines an executemany at less client CPU.
        statement = _INSERT_VECTORS_RETURNING
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        session.execute(statement, rows[start:start + _ROWS_PER_INSERT])


def _finish_all(session, outcomes: list[Outcome], store_started: float) -> list[Outcome]:
    """PROCESSING → each outcome's status with its values; returns the outcomes whose item this call moved.

    The items still PROCESSING are read under a row lock (the transaction already holds SQLite's write
    lock), then moved by one executemany UPDATE per kind of outcome (their columns differ). A lone item
    needs no read: its one conditional UPDATE's row count says whether it moved.
    """
    if not outcomes:
        return []
    if len(outcomes) == 1:
        moved = outcomes
    else:
        open_ids = set(session.scalars(_OPEN, {"_ids": [o.claim.item_id for o in outcomes]}))
        moved = [o for o in outcomes if o.claim.item_id in open_ids]
    now, groups = utcnow(), {}
    for outcome in moved:
        values = {"_id": outcome.claim.item_id, "status": outcome.status, **outcome.values}
        if outcome.history is not None and outcome.claim.record_history:
            history = outcome.history + ([stage("store", store_started, "ok")]
                                         if outcome.status == ItemStatus.SUCCEEDED else [])
            values["processing_history"] = [{"attempt": outcome.claim.attempt, **stage} for stage in history]
        groups.setdefault(tuple(sorted(values)), []).append(values)
    for names, rows in groups.items():
        for row in rows:
            row["_now"] = now
        result = session.execute(_finish_statement(names), rows[0] if len(rows) == 1 else rows)
        if len(outcomes) == 1 and result.rowcount != 1:
            return []  # another delivery finished it first
    return moved


def _store(outcomes: list[Outcome]) -> tuple[dict[int, str], list[Outcome]]:
    """One transaction: lock the collection once, move each item, write the moved items' vectors."""
    started = time.perf_counter()
    with session_scope() as session:
        if any(o.status == ItemStatus.SUCCEEDED for o in outcomes):
            first = outcomes[0].claim
            # First: it locks the collection (and re-creates it with the claim's embedder if it was deleted).
            record_vector_write(session, first.namespace, first.collection_id, first.embedder)
            outcomes = _settle_duplicates(session, outcomes)
        moved = _finish_all(session, outcomes, started)
        _write_vectors(session, moved)
        moved_ids = {o.claim.item_id for o in moved}
        lost = [o.claim.item_id for o in outcomes if o.claim.item_id not in moved_ids]
        # Another delivery finished these first: keep its result, report it.
        current = dict(session.execute(_STATUSES, {"_ids": lost}).all()) if lost else {}
    return {**current, **{o.claim.item_id: o.status for o in moved}}, moved


def store_outcomes(outcomes: list[Outcome]) -> dict[int, str]:
    """Store the outcomes of items of one batch in one transaction and count them in one pipeline; item → status."""
    if not outcomes:
        return {}
    for attempt in range(3):
        try:
            statuses, moved = _store(outcomes)
            break
        except IntegrityError:  # same bytes landed concurrently outside the lock's reach: look again
            if attempt == 2:
                outcomes = [failed(o.claim, "processing_error", "Could not store vectors after repeated conflicts.",
                                   o.history) if o.status == ItemStatus.SUCCEEDED else o for o in outcomes]
                statuses, moved = _store(outcomes)
    count_transitions(outcomes[0].claim.batch_id, [(ItemStatus.PROCESSING, o.status) for o in moved],
                      extra=lambda pipe: queue_item_durations(pipe, [o.seconds for o in moved]))
    return statuses
