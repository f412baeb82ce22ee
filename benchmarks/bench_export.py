"""GET /v1/collections/{id}/export.jsonl: memory stays flat as the collection grows; rows per second.

Run from the repository root:  python -m benchmarks.bench_export  [--rows 100000] [--database-url URL]

The same collection is exported twice through the Flask test client, reading the streamed body slice by
slice: a collection a tenth the size, then the whole. The baseline, measured last in the same run on
the small collection, is the naive export that builds the whole body before answering. Memory is the
process's resident set (sampled every 10 ms by a thread) above what it was when the export started.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sqlalchemy import delete, select  # noqa: E402

from app import create_app, db, migrations  # noqa: E402
from app.collections import catalog  # noqa: E402
from app.models import Vector  # noqa: E402
from app.redis_client import use_redis  # noqa: E402

NAMESPACE, DIMENSIONS = "default", 384


def fill(collection_id: str, rows: int) -> None:
    """Store `rows` chunks of random unit vectors with short texts, as the worker would."""
    rng = np.random.default_rng(5)
    with db.session_scope() as session:
        catalog.ensure_collection(session, NAMESPACE, collection_id)
    for start in range(0, rows, 5000):
        count = min(5000, rows - start)
        vectors = rng.standard_normal((count, DIMENSIONS)).astype("<f4")
        with db.session_scope() as session:
            catalog.record_vector_write(session, NAMESPACE, collection_id)
            session.execute(Vector.__table__.insert(), [{
                "namespace": NAMESPACE, "collection_id": collection_id, "sha256": f"{(start + i) // 20:064x}",
                "object_id": f"obj_{(start + i) // 20}", "batch_id": "bat_bench", "filename": "doc.txt",
                "chunk_index": (start + i) % 20, "page": None, "modality": "text",
                "text": f"chunk {start + i} of a benchmark document, with a few words of text in it",
                "dimensions": DIMENSIONS, "embedding": vectors[i].tobytes(),
            } for i in range(count)])


def rss_mib() -> float:
    """The process's resident set size."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


class PeakRss:
    """Samples the resident set while a block runs; `growth` is its peak above the start, in MiB."""

    def __enter__(self):
        self.start = self.peak = rss_mib()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, rss_mib())
            time.sleep(0.01)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.growth = max(self.peak, rss_mib()) - self.start


def streamed(client, collection_id: str) -> tuple[int, int, float, float]:
    """(lines, bytes, seconds, RSS growth MiB) of one export read as a stream."""
    with PeakRss() as memory:
        started = time.perf_counter()
        response = client.get(f"/v1/collections/{collection_id}/export.jsonl", buffered=False)
        lines = size = 0
        for piece in response.response:
            lines += piece.count(b"\n") if isinstance(piece, bytes) else piece.count("\n")
            size += len(piece)
        response.close()
        seconds = time.perf_counter() - started
    return lines, size, seconds, memory.growth


def naive(collection_id: str) -> float:
    """RSS growth (MiB) of building every line in memory first (the baseline)."""
    with PeakRss() as memory:
        with db.session_scope() as session:
            rows = session.execute(select(Vector).where(Vector.collection_id == collection_id)).scalars().all()
            body = "".join(json.dumps({"object_id": r.object_id, "text": r.text,
                                       "vector": np.frombuffer(r.embedding, "<f4").tolist()}) + "\n" for r in rows)
        del body, rows
    return memory.growth


def main() -> None:
    """Export a tenth and then all of a collection; print peaks, speed and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()
    import fakeredis

    use_redis(fakeredis.FakeRedis(decode_responses=True))
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        migrations.upgrade(url=url)
        app = create_app({"AUTH_DISABLED": True, "RATE_LIMIT_PER_MINUTE": 0, "BATCHERY_DATA_DIR": tmp,
                          "DATABASE_URL": url})
        client = app.test_client()
        small, large = max(args.rows // 10, 1), args.rows
        fill("bench-small", small)
        fill("bench-large", large)
        print(f"export of {small:,} and {large:,} chunks x {DIMENSIONS} dims on {url.split(':', 1)[0]}")
        results = {}
        for name, rows in (("bench-small", small), ("bench-large", large)):
            lines, size, seconds, peak = streamed(client, name)
            assert lines == rows, (lines, rows)
            results[name] = peak
            print(f"  {rows:>9,} rows: {size / 2**20:8.1f} MiB in {seconds:6.1f} s ({rows / seconds:8,.0f} rows/s), "
                  f"RSS growth {peak:6.1f} MiB")
        baseline = naive("bench-small")
        print(f"  baseline (build the whole body first), {small:,} rows: RSS growth {baseline:6.1f} MiB")
        print(f"memory growth, streamed {large:,} rows vs the baseline's {small:,}: "
              f"{results['bench-large'] / max(baseline, 0.1):.2f}x (streaming: flat; the baseline grows with rows)")
        with db.session_scope() as session:
            session.execute(delete(Vector))
        db.dispose_engine()


if __name__ == "__main__":
    main()
