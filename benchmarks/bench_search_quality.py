"""Search quality and speed on real text: recall per query kind and mode, BM25 (rank_bm25) as the baseline.

Run from the repository root:  python -m benchmarks.bench_search_quality  [--embedder hashing-384]
    [--queries 300] [--scale-chunks 100000] [--latency-only | --recall-only]

The corpus (benchmarks/search_corpus.py) is stored through the same vector insert the worker uses, so
the database's own full-text index is filled by its triggers or generated column; every query goes
through app.collections.search. Recall is per document: a query hits when its document owns the first
hit (R@1) or one of the first ten (R@10). Then filler text grows the collection to --scale-chunks and the
query latency of each mode is measured, with the matrix and without it (the bounded path), and the cost
the full-text index adds to storing chunks.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app import db, migrations  # noqa: E402
from app.batches.catalog import ensure_collection  # noqa: E402
from app.batches.store import insert_vectors  # noqa: E402
from app.collections import catalog, search  # noqa: E402
from app.collections.search_cache import matrices  # noqa: E402
from app.settings import configure, get_settings, load_settings  # noqa: E402
from app.extractors import embed_texts  # noqa: E402
from app.extractors.chunking import chunk_text  # noqa: E402
from app.models import Vector  # noqa: E402
from benchmarks import search_corpus  # noqa: E402
from benchmarks.bench_extractors import generated_text  # noqa: E402

NAMESPACE, COLLECTION = "bench", "quality"
MODES = ("hybrid", "lexical", "vector")
CORPUS_CACHE = Path(tempfile.gettempdir()) / "batchery-search-corpus-v1.json"


def embedder(name: str):
    """(embed many texts, dimensions) of a registered embedder (app.collections.embedders)."""
    from app.collections.embedders import get_embedder

    chosen = get_embedder(name)  # a name this deployment has not installed is refused here
    return chosen.embed_texts, chosen.dimensions


def corpus() -> dict[str, str]:
    """The corpus, cached in the temp directory (pydoc imports most of the standard library)."""
    if CORPUS_CACHE.exists():
        return json.loads(CORPUS_CACHE.read_text())
    docs = search_corpus.build_corpus()
    CORPUS_CACHE.write_text(json.dumps(docs))
    return docs


def store(docs: dict[str, str], embed, dimensions: int, batch: int = 2000, embedder_name: str = "hashing-384") -> tuple[list[tuple[str, str]], float]:
    """Chunk, embed and insert every document; returns ([(document, chunk)], seconds spent inserting)."""
    chunks = [(name, piece) for name, body in docs.items() for piece in chunk_text(body)]
    with db.session_scope() as session:
        ensure_collection(session, NAMESPACE, COLLECTION, embedder_name)  # queries use the same embedder
    inserting = 0.0
    for start in range(0, len(chunks), batch):
        part = chunks[start:start + batch]
        vectors = embed([piece for _, piece in part])
        rows = [{"namespace": NAMESPACE, "collection_id": COLLECTION, "sha256": f"{name}#{start + i}",
                 "object_id": name, "batch_id": "bat_bench", "filename": name[:255], "chunk_index": start + i,
                 "page": None, "modality": "text", "text": piece, "dimensions": dimensions,
                 "embedding": np.asarray(vectors[i], dtype="<f4").tobytes()} for i, (name, piece) in enumerate(part)]
        began = time.perf_counter()
        with db.session_scope() as session:
            catalog.record_vector_write(session, NAMESPACE, COLLECTION)
            session.execute(Vector.__table__.insert(), rows)
        inserting += time.perf_counter() - began
    return chunks, inserting


def recall(queries: list[tuple[str, str]], rank) -> tuple[float, float]:
    """(R@1, R@10) by document for a ranking function query → [document, ...] best first."""
    first = ten = 0
    for target, query in queries:
        documents = rank(query)
        first += bool(documents) and documents[0] == target
        ten += target in documents[:10]
    return first / max(len(queries), 1), ten / max(len(queries), 1)


def bm25_ranker(chunks: list[tuple[str, str]]):
    """rank_bm25's BM25Okapi over the same chunks (words, lower case), its scores computed sparsely.

    BM25Okapi.get_scores loops over every chunk for every query term in Python; this applies the same
    formula, idf and statistics to only the chunks holding each term (checked equal on the first queries).
    """
    from rank_bm25 import BM25Okapi

    words = re.compile(r"\w+")
    model = BM25Okapi([words.findall(piece.lower()) for _, piece in chunks])
    postings: dict[str, tuple[list[int], list[int]]] = {}
    for i, frequencies in enumerate(model.doc_freqs):
        for term, count in frequencies.items():
            ids, counts = postings.setdefault(term, ([], []))
            ids.append(i)
            counts.append(count)
    postings = {t: (np.array(ids), np.array(counts, dtype=float)) for t, (ids, counts) in postings.items()}
    norm = model.k1 * (1 - model.b + model.b * np.array(model.doc_len) / model.avgdl)
    owners = [name for name, _ in chunks]
    checked = [0]

    def scores(query: str) -> np.ndarray:
        total = np.zeros(model.corpus_size)
        for term in words.findall(query.lower()):
            if term in postings:
                ids, counts = postings[term]
                total[ids] += (model.idf.get(term) or 0) * (counts * (model.k1 + 1) / (counts + norm[ids]))
        if checked[0] < 3:  # the sparse sum is BM25Okapi's own score
            checked[0] += 1
            assert np.allclose(total, model.get_scores(words.findall(query.lower())))
        return total

    def rank(query: str) -> list[str]:
        return [owners[i] for i in np.argsort(-scores(query), kind="stable")[:10]]
    return rank


def batchery_ranker(mode: str):
    """app.collections.search in one mode, as documents best first."""
    def rank(query: str) -> list[str]:
        return [hit["object_id"] for hit in search.search(NAMESPACE, COLLECTION, query, 10, mode)["hits"]]
    return rank


def latencies(queries: list[str], mode: str) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds) per search, after one warm-up search builds the matrix.

    SQLite runs in this process, so the CPU time is the whole cost of a query on an idle core; the wall
    time also counts waiting for a core on a busy machine.
    """
    search.search(NAMESPACE, COLLECTION, queries[0], 10, mode)
    wall, cpu = [], []
    for query in queries:
        began, began_cpu = time.perf_counter(), time.process_time()
        search.search(NAMESPACE, COLLECTION, query, 10, mode)
        wall.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return wall, cpu


def grow(chunks: int, embed, dimensions: int) -> None:
    """Add generated filler chunks until the collection holds `chunks`."""
    with db.session_scope() as session:
        have = session.scalar(text("SELECT count(*) FROM vectors"))
    missing = chunks - have
    if missing <= 0:
        return
    filler = generated_text(missing * 600 + 1000, seed=5)
    pieces = [filler[i * 600:(i + 1) * 600] for i in range(missing)]
    for start in range(0, missing, 5000):
        part = pieces[start:start + 5000]
        vectors = embed(part)
        with db.session_scope() as session:
            catalog.record_vector_write(session, NAMESPACE, COLLECTION)
            session.execute(Vector.__table__.insert(), [{
                "namespace": NAMESPACE, "collection_id": COLLECTION, "sha256": f"filler-{start + i}",
                "object_id": f"filler:{(start + i) // 50}", "batch_id": "bat_bench", "filename": "filler.txt",
                "chunk_index": 0, "page": None, "modality": "text", "text": piece, "dimensions": dimensions,
                "embedding": np.asarray(vectors[i], dtype="<f4").tobytes()} for i, piece in enumerate(part)])


def insert_cost(chunks: list[tuple[str, str]], embed, dimensions: int, url_of) -> tuple[float, float, float]:
    """(embed s, insert s with the index, insert s without) for the same 20,000 chunks in fresh databases."""
    sample = chunks[:20_000]
    began = time.perf_counter()
    vectors = embed([piece for _, piece in sample])
    embedding = time.perf_counter() - began
    rows = [{"namespace": NAMESPACE, "collection_id": "cost", "sha256": f"c{i}", "object_id": name,
             "batch_id": "bat_bench", "filename": name[:255], "chunk_index": i, "page": None, "modality": "text",
             "text": piece, "dimensions": dimensions, "embedding": np.asarray(vectors[i], dtype="<f4").tobytes()}
            for i, (name, piece) in enumerate(sample)]
    timings = []
    for indexed in (True, False):
        db.dispose_engine()
        configure(load_settings({"DATABASE_URL": url_of(f"cost-{indexed}")}))
        migrations.upgrade()
        if not indexed:
            with db.session_scope() as session:
                for trigger in ("insert", "delete", "update"):
                    session.execute(text(f"DROP TRIGGER IF EXISTS vectors_fts_{trigger}"))
        began = time.perf_counter()
        for start in range(0, len(rows), 500):  # a large document's worth per transaction, as the worker writes
            with db.session_scope() as session:
                insert_vectors(session, rows[start:start + 500])
        timings.append(time.perf_counter() - began)
    return embedding, timings[0], timings[1]


def main() -> None:
    """Build and store the corpus, then print recall per query kind and mode, latency, and ingest cost."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--embedder", default="hashing-384")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--scale-chunks", type=int, default=100_000)
    parser.add_argument("--latency-only", action="store_true", help="skip the recall table")
    parser.add_argument("--recall-only", action="store_true",
                        help="only the recall table (a slow embedder such as minilm-l6 on CPU)")
    args = parser.parse_args()
    embed, dimensions = embedder(args.embedder)
    with tempfile.TemporaryDirectory() as tmp:
        def url_of(name: str) -> str:
            return f"sqlite:///{Path(tmp) / (name + '.sqlite3')}"

        configure(load_settings({"BATCHERY_DATA_DIR": tmp, "DATABASE_URL": url_of("bench"),
                                 "SEARCH_CACHE_TTL_SECONDS": 3600}))
        migrations.upgrade()
        docs = corpus()
        began = time.perf_counter()
        chunks, _ = store(docs, embed, dimensions, embedder_name=args.embedder)
        print(f"corpus: {len(docs):,} documents ({', '.join(f'{n} {k}' for k, n in _kinds(docs).items())}), "
              f"{len(chunks):,} chunks, {sum(map(len, docs.values())) / 2**20:.1f} MiB; "
              f"embedder {args.embedder}; stored in {time.perf_counter() - began:.1f} s")
        exact = search_corpus.exact_queries(docs, args.queries)
        kinds = {"exact sentence": exact, "noisy (30% dropped, 2 typos)": search_corpus.noisy_queries(exact),
                 "paraphrase (hand-written)": search_corpus.paraphrase_queries(docs)}
        rankers = {"BM25 (rank_bm25)": bm25_ranker(chunks) if not args.latency_only else None,
                   **{f"batchery {mode}": batchery_ranker(mode) for mode in MODES}}
        print(f"\n{'queries':<38} {'ranking':<20} {'R@1':>6} {'R@10':>6}")
        for kind, queries in ({} if args.latency_only else kinds).items():
            for label, rank in rankers.items():
                at1, at10 = recall(queries, rank)
                print(f"{kind + f' ({len(queries)})':<38} {label:<20} {at1:6.3f} {at10:6.3f}")

        if args.recall_only:
            db.dispose_engine()
            return
        grow(args.scale_chunks, embed, dimensions)
        sample = [query for _, query in exact[:100]] + [query for _, query in kinds["noisy (30% dropped, 2 typos)"][:100]]
        print(f"\nquery latency at {max(args.scale_chunks, len(chunks)):,} chunks (one thread; {len(sample)} exact and noisy queries)")
        print(f"{'mode':<34} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8} {'CPU p95':>8} {'exact R@1':>10}")
        exact_sample = exact[:100]
        for label, limit in (("matrix in memory", 10**9), ("bounded (no matrix)", 0)):
            configure(replace(get_settings(), SEARCH_MATRIX_MAX_ROWS=limit))
            matrices.clear()
            for mode in MODES:
                # Without a matrix vector mode reads every row per query: a few queries show its cost.
                queries = sample[:10] if (mode, limit) == ("vector", 0) else sample
                wall, cpu = (sorted(t) for t in latencies(queries, mode))
                at1, _ = recall(exact_sample, batchery_ranker(mode))
                print(f"{mode + ', ' + label:<34} " + " ".join(
                    f"{statistics.median(t) * 1000:8.1f} {t[int(0.95 * len(t)) - 1] * 1000:8.1f}" for t in (wall, cpu))
                    + f" {at1:10.3f}")
        configure(replace(get_settings(), SEARCH_MATRIX_MAX_ROWS=10**9))
        matrices.clear()  # the bounded run cached "no matrix" under the same signature
        with db.session_scope() as session:
            matrix = search.matrix_for(session, catalog.read_state(session, NAMESPACE, COLLECTION), "text")
        print(f"matrix memory: {matrix.nbytes / 2**20:.0f} MiB for {matrix.rows:,} chunks "
              f"({matrix.nbytes / max(matrix.rows, 1):.0f} bytes per chunk)")

        embedding, indexed, plain = insert_cost(chunks, embed, dimensions, url_of)
        print(f"\nstoring 20,000 chunks: embed {embedding:.2f} s; insert with the full-text index {indexed:.2f} s, "
              f"without {plain:.2f} s; embed+store throughput with the index = "
              f"{(embedding + plain) / (embedding + indexed):.2f} x without")
        db.dispose_engine()


def _kinds(docs: dict[str, str]) -> dict[str, int]:
    """Documents per kind (man, pydoc, license, changelog)."""
    counts: dict[str, int] = {}
    for name in docs:
        counts[name.split(":")[0]] = counts.get(name.split(":")[0], 0) + 1
    return counts


if __name__ == "__main__":
    main()
