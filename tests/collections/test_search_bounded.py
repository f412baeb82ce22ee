"""Search without a matrix in memory (over SEARCH_MATRIX_MAX_ROWS), and the rare-term selection of SQLite queries."""
import pytest

from app.collections import lexical, search, search_cache
from app.db import session_scope
from tests.overrides import with_overrides
from tests.collections.test_search_cache import write

TEXTS = [f"note {i} on topic {i % 7} with common words" for i in range(60)] + [
    "the lighthouse keeper trimmed the wick at dusk", "sourdough needs a lively starter and a hot oven"]


@pytest.fixture(autouse=True)
def corpus(app):
    """Sixty-two one-chunk documents; every test starts with no cached matrix."""
    search_cache.matrices.clear()
    write("docs", TEXTS)
    yield
    search_cache.matrices.clear()


def ranked(query, mode, top_k=5):
    """(object_id, score) of a search's hits."""
    return [(h["object_id"], h["score"]) for h in search.search("default", "docs", query, top_k, mode)["hits"]]


def test_over_the_row_limit_no_matrix_is_held_and_every_mode_still_answers():
    in_memory = {mode: ranked("lighthouse keeper trimmed the wick", mode) for mode in ("hybrid", "vector", "lexical")}
    assert search_cache.matrices._entries[("default", "docs", "text")].vectors.shape == (62, 384)
    search_cache.matrices.clear()
    with_overrides(SEARCH_MATRIX_MAX_ROWS=10)
    bounded = {mode: ranked("lighthouse keeper trimmed the wick", mode) for mode in ("hybrid", "vector", "lexical")}
    held = search_cache.matrices._entries[("default", "docs", "text")]
    assert held.vectors is None and held.rows == 62 and held.nbytes == 0
    # Vector mode streams every row: the same answer as the matrix. Lexical never used it.
    assert [i for i, _ in bounded["vector"]] == [i for i, _ in in_memory["vector"]]
    assert [s for _, s in bounded["vector"]] == pytest.approx([s for _, s in in_memory["vector"]], abs=1e-6)
    assert bounded["lexical"] == in_memory["lexical"]
    # Hybrid scores only the full-text candidates: the exact sentence still comes first with the same score.
    assert bounded["hybrid"][0] == in_memory["hybrid"][0] and bounded["hybrid"][0][0] == "obj_doc60"


def test_streaming_scan_reads_in_blocks_and_keeps_the_best(monkeypatch):
    monkeypatch.setattr(search, "SCAN_BLOCK", 7)
    with_overrides(SEARCH_MATRIX_MAX_ROWS=0)
    hits = ranked("sourdough lively starter hot oven", "vector", top_k=3)
    assert hits[0][0] == "obj_doc61" and [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_sqlite_ranks_by_the_rarest_terms_and_drops_terms_no_chunk_holds(monkeypatch):
    monkeypatch.setattr(lexical, "COMMON_CHUNKS", 20)
    lexical._probes.clear()
    with session_scope() as session:
        # "common" and "words" are in 60 chunks (over the limit of 20): two rare terms remain, under MIN_TERMS
        # (3), so the commonest fill in; "zzyzx" is in none and is dropped.
        assert lexical.selective_terms(session, ["common", "lighthouse", "zzyzx", "wick", "words"]) == [
            "lighthouse", "wick", "common"]
        assert lexical.selective_terms(session, ["zzyzx"]) == []
        found = lexical.lexical_candidates(session, "default", "docs", "common words lighthouse wick zzyzx", 3)
    assert found[0][1] > found[1][1] > 0
