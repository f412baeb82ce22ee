"""Search a collection: lexical and vector candidates of the asked modalities, fused; hits read by id.

Modes: `vector` ranks by cosine similarity, `lexical` by the database's full-text relevance (text chunks
only), `hybrid` (default) scores the union of both candidate lists (app.collections.fusion). Vectors of different modalities
live in unrelated spaces, so each modality has its own matrix and a text query sees only `text` unless
asked. A modality with more than SEARCH_MATRIX_MAX_ROWS rows gets no matrix: hybrid and lexical then
rank the lexical candidates by their stored vectors, and vector mode streams the rows in blocks.
"""
import heapq

import numpy as np
from sqlalchemy import func, select

from app.settings import get_settings
from app.db import session_scope
from app.errors import ValidationFailed
from app.collections.embedders import embed_query
from app.extractors import ExtractionError, extract
from app.models import Vector
from app.collections.catalog import CollectionState, read_state
from app.collections.fusion import fuse, phrase_overlap
from app.collections.lexical import lexical_candidates
from app.collections.search_cache import SearchMatrix, matrices

MODES = ("hybrid", "lexical", "vector")
MODALITIES = ("text", "image", "audio")
CANDIDATES = 50          # per side before fusion; the top_k hits come from their union
SCAN_BLOCK = 20_000


def _rows_of(state: CollectionState, modality: str):
    """Filter of the collection's vectors of one modality (and of its dimension)."""
    return (Vector.namespace == state.namespace, Vector.collection_id == state.collection_id,
            Vector.modality == modality, Vector.dimensions == state.dimensions)


def _normalised(blobs: list[bytes], dimensions: int) -> np.ndarray:
    """Stored float32 bytes as unit-length rows (a zero row stays zero)."""
    vectors = np.frombuffer(b"".join(blobs), dtype="<f4").astype(np.float32).reshape(len(blobs), dimensions)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors


def build_matrix(session, state: CollectionState, modality: str) -> SearchMatrix:
    """Load one modality's vectors into a matrix, or only count them when there are too many."""
    rows = session.scalar(select(func.count()).select_from(Vector).where(*_rows_of(state, modality)))
    if rows > get_settings().SEARCH_MATRIX_MAX_ROWS:
        return SearchMatrix(state.signature, state.dimensions, None, np.zeros(0, dtype=np.int64), rows)
    found = session.execute(select(Vector.id, Vector.embedding).where(*_rows_of(state, modality))
                            .order_by(Vector.id)).all()
    # Column-major: OpenBLAS's matrix-vector product over (rows, dims) runs about twice as fast with each
    # dimension contiguous (100,000 x 384: 10 ms instead of 21 ms of CPU on this machine).
    vectors = np.asfortranarray(_normalised([r.embedding for r in found], state.dimensions))
    return SearchMatrix(state.signature, state.dimensions, vectors, np.array([r.id for r in found], dtype=np.int64),
                        len(found))


def matrix_for(session, state: CollectionState, modality: str) -> SearchMatrix:
    """The modality's matrix: the cached one while the collection's signature is current, else rebuilt."""
    cache_key = (state.namespace, state.collection_id, modality)
    matrix = matrices.get(cache_key, state.signature)
    if matrix is None:
        matrix = build_matrix(session, state, modality)
        matrices.put(cache_key, matrix)
    return matrix


def _top(scores: np.ndarray, ids: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """The `limit` best (id, score), best first."""
    count = len(scores)
    k = min(limit, count)
    if k == 0:
        return []
    top = np.argpartition(scores, count - k)[count - k:] if k < count else np.arange(count)
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(ids[i]), min(float(scores[i]), 1.0)) for i in top]  # float32 rounding can pass 1.0


def _scan_nearest(session, state: CollectionState, modality: str, query: np.ndarray,
                  limit: int) -> list[tuple[int, float]]:
    """Nearest rows of a modality too large for a matrix, read in blocks: memory O(block), time O(rows)."""
    best: list[tuple[float, int]] = []
    statement = (select(Vector.id, Vector.embedding).where(*_rows_of(state, modality))
                 .execution_options(yield_per=SCAN_BLOCK))
    for block in session.execute(statement).partitions():
        ids = np.array([r.id for r in block], dtype=np.int64)
        scores = _normalised([r.embedding for r in block], state.dimensions) @ query
        for row_id, score in _top(scores, ids, limit):
            if len(best) < limit:
                heapq.heappush(best, (score, row_id))
            elif score > best[0][0]:
                heapq.heapreplace(best, (score, row_id))
    return [(row_id, score) for score, row_id in sorted(best, key=lambda pair: (-pair[0], pair[1]))]


def vector_candidates(session, state: CollectionState, modalities, query: np.ndarray,
                      limit: int) -> list[tuple[int, float]]:
    """(vector id, cosine) of the nearest rows of the given modalities, best first."""
    found = []
    for modality in modalities:
        matrix = matrix_for(session, state, modality)
        if matrix.vectors is None:
            found += _scan_nearest(session, state, modality, query, limit)
        elif matrix.rows:
            found += _top(matrix.vectors @ query, matrix.ids, limit)
    return sorted(found, key=lambda pair: (-pair[1], pair[0]))[:limit]


def _cosines(session, state: CollectionState, ids: list[int], query: np.ndarray) -> dict[int, float]:
    """{id: cosine} of text rows: from the text matrix when there is one, else their vectors read by id."""
    if not ids:
        return {}
    matrix = matrix_for(session, state, "text")
    if matrix.vectors is not None and matrix.rows:
        at = np.minimum(np.searchsorted(matrix.ids, ids), matrix.rows - 1)  # ids sorted: built ORDER BY id
        at = at[matrix.ids[at] == np.asarray(ids)]
        return {int(i): min(float(c), 1.0) for i, c in zip(matrix.ids[at], matrix.vectors[at] @ query)}
    found = session.execute(select(Vector.id, Vector.embedding).where(
        Vector.id.in_(ids), Vector.dimensions == state.dimensions)).all()
    cosines = _normalised([r.embedding for r in found], state.dimensions) @ query if found else []
    return {r.id: min(float(c), 1.0) for r, c in zip(found, cosines)}


def _rows(session, ids) -> dict:
    """{id: row} of the columns a hit shows, read by id."""
    if not ids:
        return {}
    return {r.id: r for r in session.execute(
        select(Vector.id, Vector.object_id, Vector.filename, Vector.chunk_index, Vector.page, Vector.modality,
               Vector.text).where(Vector.id.in_(sorted(ids)))).all()}


def _hits(session, ranked: list[tuple[int, float]], rows: dict | None = None) -> list[dict]:
    """The contract's hits for (vector id, score) pairs, in that order (`rows`: already read by _rows)."""
    rows = _rows(session, [row_id for row_id, _ in ranked]) if rows is None else rows
    return [{
        "object_id": rows[row_id].object_id, "filename": rows[row_id].filename,
        "chunk_index": rows[row_id].chunk_index, "page": rows[row_id].page, "modality": rows[row_id].modality,
        "score": round(score, 6), "text": rows[row_id].text,
    } for row_id, score in ranked if row_id in rows]


def _ranked(session, state: CollectionState, query: str, top_k: int, mode: str,
            modalities) -> tuple[list[tuple[int, float]], dict | None]:
    """(vector id, score) of the best top_k rows for a text query in the given mode, with the candidate rows
    hybrid mode read for its phrase scores (None in the other modes: their hits are read by id)."""
    lexical = []
    if mode != "vector" and "text" in modalities:
        lexical = lexical_candidates(session, state.namespace, state.collection_id, query,
                                     max(CANDIDATES, top_k) if mode == "hybrid" else top_k)
    if mode == "lexical":
        return lexical[:top_k], None
    query_vector = embed_query(state.embedder, query)  # minilm-l6: loads the model on first use (README)
    if not query_vector.any():  # no words at all: nothing to compare
        return (lexical[:top_k] if mode == "hybrid" else []), None
    if mode == "vector":
        return vector_candidates(session, state, modalities, query_vector, top_k), None
    # Over SEARCH_MATRIX_MAX_ROWS a modality has no matrix: its lexical candidates stand in (bounded path).
    with_matrix = [m for m in modalities if matrix_for(session, state, m).vectors is not None]
    cosines = dict(vector_candidates(session, state, with_matrix, query_vector, max(CANDIDATES, top_k)))
    cosines.update(_cosines(session, state, [i for i, _ in lexical if i not in cosines], query_vector))
    rows = _rows(session, cosines.keys() | {i for i, _ in lexical})
    phrase = phrase_overlap(query, {row_id: row.text for row_id, row in rows.items()})
    return fuse(dict(lexical), cosines, phrase)[:top_k], rows


def search(namespace: str, collection_id: str, query: str, top_k: int = 10, mode: str = "hybrid",
           modalities=("text",)) -> dict:
    """The top_k chunks of a collection for a text query: {"mode", "hits"}."""
    with session_scope() as session:
        # Signature first, rows second: a write committing in between makes the next query rebuild,
        # while the reverse order could pin old rows under the new signature.
        state = read_state(session, namespace, collection_id)
        ranked, rows = _ranked(session, state, query, top_k, mode, list(dict.fromkeys(modalities)))
        return {"mode": mode, "hits": _hits(session, ranked, rows)}


def example_vector(data: bytes, dimensions: int) -> tuple[str, np.ndarray]:
    """(modality, unit query vector) of an image or WAV: the mean of its chunks' vectors."""
    try:
        extraction = extract(data, dimensions=dimensions)
    except ExtractionError as exc:
        raise ValidationFailed(f"The example file could not be read: {exc.message}",
                               {"fields": {"file": [exc.message]}}) from None
    if extraction.modality == "text" or not extraction.chunks:
        raise ValidationFailed("Search by example takes an image or a WAV file; send text as `query`.",
                               {"fields": {"file": [f"{extraction.media_type} is not an image or audio."]}})
    mean = np.mean([chunk.vector for chunk in extraction.chunks], axis=0)
    norm = float(np.linalg.norm(mean))
    return extraction.modality, (mean / norm if norm > 0 else mean).astype(np.float32)


def search_by_example(namespace: str, collection_id: str, data: bytes, top_k: int = 10) -> dict:
    """The top_k items of the example's modality nearest to it (cosine): {"mode": "vector", "hits"}."""
    with session_scope() as session:
        state = read_state(session, namespace, collection_id)
    modality, query = example_vector(data, state.dimensions)
    with session_scope() as session:
        state = read_state(session, namespace, collection_id)
        ranked = vector_candidates(session, state, [modality], query, top_k)
        return {"mode": "vector", "hits": _hits(session, ranked)}
