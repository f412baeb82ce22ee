"""Search latency over one collection of many vectors: cold build vs cached matrix vs reloading every query.

Run from the repository root:  python -m benchmarks.bench_search  [--vectors 50000] [--database-url URL]

The baseline ("uncached") is what search costs without the cache: every query reads the collection's
vectors from the database and builds the matrix again. Both are measured in the same run, on the same
data, through the same service functions.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import db, migrations  # noqa: E402
from app.settings import configure, load_settings  # noqa: E402
from app.extractors import embed_text, embed_texts  # noqa: E402
from app.models import Vector  # noqa: E402
from app.collections import catalog, search  # noqa: E402
from app.collections.catalog import ensure_collection  # noqa: E402
from app.collections.search_cache import matrices  # noqa: E402
from benchmarks.bench_extractors import generated_text  # noqa: E402

NAMESPACE, COLLECTION, DIMENSIONS, CHUNK_CHARS = "bench", "bench-search", 384, 600


def fill(vectors: int) -> list[str]:
    """Store `vectors` text chunks (50 per document) as the worker would; returns the chunk texts."""
    text = generated_text(vectors * CHUNK_CHARS + 1000, seed=11)
    chunks = [text[i * CHUNK_CHARS:(i + 1) * CHUNK_CHARS] for i in range(vectors)]
    with db.session_scope() as session:
        ensure_collection(session, NAMESPACE, COLLECTION)
    for start in range(0, vectors, 5000):
        part = chunks[start:start + 5000]
        embedded = embed_texts(part, DIMENSIONS)
        with db.session_scope() as session:
            catalog.record_vector_write(session, NAMESPACE, COLLECTION)
            session.execute(Vector.__table__.insert(), [{
                "namespace": NAMESPACE, "collection_id": COLLECTION, "sha256": f"doc-{(start + i) // 50}",
                "object_id": f"obj_{(start + i) // 50}", "batch_id": "bat_bench", "filename": "doc.txt",
                "chunk_index": (start + i) % 50, "page": None, "modality": "text", "text": chunk,
                "dimensions": DIMENSIONS, "embedding": embedded[i].astype("<f4").tobytes(),
            } for i, chunk in enumerate(part)])
    return chunks


def timed(fn) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def report(label: str, seconds: float, note: str = "") -> None:
    """One aligned result line, in milliseconds."""
    print(f"{label:<62} {seconds * 1000:9.2f} ms{'  ' + note if note else ''}")


def main() -> None:
    """Fill a collection, then time cold, cached and uncached searches."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        configure(load_settings({"BATCHERY_DATA_DIR": tmp, "DATABASE_URL": url, "SEARCH_CACHE_TTL_SECONDS": 3600}))
        migrations.upgrade()
        started = time.perf_counter()
        chunks = fill(args.vectors)
        size = args.vectors * DIMENSIONS * 4 / 2**20
        print(f"collection: {args.vectors:,} vectors x {DIMENSIONS} dims ({size:.0f} MiB float32) on "
              f"{url.split(':', 1)[0]}; filled in {time.perf_counter() - started:.1f} s")
        queries = [chunks[(i * 7919) % len(chunks)][100:220] for i in range(args.queries)]

        def query(i: int):  # vector mode: what the matrix cache serves
            return search.search(NAMESPACE, COLLECTION, queries[i % len(queries)], 10, mode="vector")["hits"]

        def current_matrix():
            with db.session_scope() as session:
                return search.matrix_for(session, catalog.read_state(session, NAMESPACE, COLLECTION), "text")

        def rank(text: str):
            with db.session_scope() as session:
                state = catalog.read_state(session, NAMESPACE, COLLECTION)
                return search.vector_candidates(session, state, ["text"], embed_text(text, DIMENSIONS), 10)

        uncached = []
        for i in range(5):
            matrices.clear()
            uncached.append(timed(lambda: query(i)))
        cold = uncached[0]
        cached = [timed(lambda: query(i)) for i in range(args.queries)]
        found = sum(query(i)[0]["text"].find(queries[i]) >= 0 for i in range(args.queries))
        check = statistics.median(timed(current_matrix) for _ in range(50))
        ranking = statistics.median(timed(lambda: rank(queries[i])) for i in range(args.queries))

        report("cold: first search (read signature, load rows, build, rank)", cold)
        report("uncached baseline: reload matrix from DB every query (median)", statistics.median(uncached),
               f"(of {len(uncached)})")
        report("cached: search with a warm matrix (median)", statistics.median(cached), f"(of {len(cached)})")
        report("cached: p95", sorted(cached)[int(0.95 * len(cached)) - 1])
        report("  of which: session + signature read + cache lookup", check)
        report("  of which: embed query + matrix product + top-k (+ the lookup)", ranking)
        speed_up = statistics.median(uncached) / statistics.median(cached)
        print(f"{'speed-up of the cache over the uncached baseline':<62} {speed_up:9.1f} x")
        print(f"{'queries (120 chars cut from a chunk) whose chunk ranked first':<62} {found:>6}/{args.queries}")
        db.dispose_engine()


if __name__ == "__main__":
    main()
