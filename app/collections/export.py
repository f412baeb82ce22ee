"""A collection's chunks and vectors as JSON lines, streamed from the database a slice at a time."""
import json
from collections.abc import Iterator

import numpy as np
from sqlalchemy import select

from app.collections.catalog import read_state
from app.db import session_scope
from app.models import Vector

ROWS_PER_SLICE = 200  # ~1.5 MB of JSON per slice at 384 dimensions: memory stays flat however large the collection


def export_lines(namespace: str, collection_id: str) -> Iterator[str]:
    """The collection's chunks in write order, one JSON line each; NotFound is raised now, not mid-stream."""
    with session_scope() as session:
        read_state(session, namespace, collection_id)
    return _lines(namespace, collection_id)


def _lines(namespace: str, collection_id: str) -> Iterator[str]:
    """Yield slices of lines; yield_per makes PostgreSQL use a server-side cursor and SQLite step lazily."""
    query = (select(Vector.object_id, Vector.filename, Vector.sha256, Vector.chunk_index, Vector.page,
                    Vector.modality, Vector.text, Vector.embedding)
             .where(Vector.namespace == namespace, Vector.collection_id == collection_id)
             .order_by(Vector.id).execution_options(yield_per=ROWS_PER_SLICE))
    with session_scope() as session:
        for rows in session.execute(query).partitions():
            yield "".join(json.dumps({
                "object_id": r.object_id, "filename": r.filename, "sha256": r.sha256, "chunk_index": r.chunk_index,
                "page": r.page, "modality": r.modality, "text": r.text,
                "vector": np.frombuffer(r.embedding, dtype="<f4").tolist(),
            }) + "\n" for r in rows)
