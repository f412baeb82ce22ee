"""Search a collection: embed the query, cosine similarity over the collection's matrix, top k chunks."""
import numpy as np
from sqlalchemy import select

from app.db import session_scope
from app.collections.embedders import embed_query
from app.models import Vector
from app.collections.catalog import CollectionState, read_state
from app.collections.search_cache import SearchMatrix, matrices


def build_matrix(session, state: CollectionState) -> SearchMatrix:
    """Load every vector of the collection (of its dimension) into one row-normalised matrix."""
    rows = session.execute(
        select(Vector.object_id, Vector.filename, Vector.chunk_index, Vector.modality, Vector.text, Vector.embedding)
        .where(Vector.namespace == state.namespace, Vector.collection_id == state.collection_id,
               Vector.dimensions == state.dimensions)
        .order_by(Vector.id)
    ).all()
    vectors = np.frombuffer(b"".join(r.embedding for r in rows), dtype="<f4").astype(np.float32)
    vectors = vectors.reshape(len(rows), state.dimensions)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return SearchMatrix(
        state.signature, state.dimensions, vectors, [r.object_id for r in rows], [r.filename for r in rows],
        [r.chunk_index for r in rows], [r.text if r.modality == "text" else None for r in rows], state.embedder,
    )


def current_matrix(namespace: str, collection_id: str) -> SearchMatrix:
    """The collection's matrix: the cached one while its signature is current, else rebuilt and cached."""
    with session_scope() as session:
        # Signature first, rows second: a write committing in between makes the next query rebuild,
        # while the reverse order could pin old rows under the new signature.
        state = read_state(session, namespace, collection_id)
        matrix = matrices.get((namespace, collection_id), state.signature)
        if matrix is None:
            matrix = build_matrix(session, state)
            matrices.put((namespace, collection_id), matrix)
    return matrix


def rank(matrix: SearchMatrix, query: str, top_k: int) -> list[dict]:
    """The top_k rows by cosine similarity to the query, best first."""
    count = len(matrix.object_ids)
    query_vector = embed_query(matrix.embedder, query)
    if count == 0 or not query_vector.any():  # nothing stored, or a query with no words to compare
        return []
    scores = matrix.vectors @ query_vector
    k = min(top_k, count)
    top = np.argpartition(scores, count - k)[count - k:] if k < count else np.arange(count)
    top = top[np.argsort(-scores[top], kind="stable")]
    return [{
        "object_id": matrix.object_ids[i], "filename": matrix.filenames[i], "chunk_index": matrix.chunk_indexes[i],
        "score": round(float(np.clip(scores[i], -1.0, 1.0)), 6), "text": matrix.texts[i],
    } for i in top.tolist()]


def search(namespace: str, collection_id: str, query: str, top_k: int = 10) -> list[dict]:
    """The top_k chunks of a collection most similar to a text query."""
    return rank(current_matrix(namespace, collection_id), query, top_k)
