"""Memory of GET /v1/batches/{id}/results.jsonl for a finished batch of 10,000 and of 100,000 items.

Run from the repository root:  python -m benchmarks.bench_results_export

Uses the Flask test client and a SQLite file (the endpoint reads no Redis). The export is streamed in
keyset pages, so its peak Python memory (tracemalloc) should stay flat (ratio ≈ 1) as the batch grows
tenfold; the baseline, measured in the same run, builds the same rows in one list as a single JSON
answer would, and grows with the batch.
"""
from __future__ import annotations

import logging
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fakeredis  # noqa: E402

from app import create_app, db  # noqa: E402
from app.batches.results import describe_item  # noqa: E402
from app.db import session_scope  # noqa: E402
from app.models import Batch, BatchItem, BatchStatus, ItemStatus, new_id, utcnow  # noqa: E402
from app.redis_client import use_redis  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

SIZES = (10_000, 100_000)


def finished_batch(size: int) -> str:
    """A COMPLETED batch of `size` SUCCEEDED items, inserted in bulk."""
    batch_id = new_id("bat")
    with session_scope() as session:
        session.add(Batch(id=batch_id, namespace="default", collection_id="bench", status=BatchStatus.COMPLETED,
                          total_items=size, completed_at=utcnow()))
        session.flush()
        for start in range(0, size, 10_000):
            session.execute(insert(BatchItem), [{
                "batch_id": batch_id, "object_id": f"obj_{size}_{i:08d}", "filename": f"file-{i}.txt",
                "media_type": "text/plain", "sha256": f"{i:064x}", "status": ItemStatus.SUCCEEDED, "attempts": 1,
                "chunks": 3, "dimensions": 384, "processing_history": []} for i in range(start, min(size, start + 10_000))])
    return batch_id


def read_export(client, batch_id: str) -> int:
    """Lines of the export, read chunk by chunk as a client would."""
    response = client.get(f"/v1/batches/{batch_id}/results.jsonl", buffered=False)
    return sum(chunk.count(b"\n") for chunk in response.response)


def streamed(client, batch_id: str) -> tuple[int, int, float]:
    """(lines, peak bytes, seconds) of the export: timed untraced (tracemalloc slows Python), then traced."""
    started = time.perf_counter()
    read_export(client, batch_id)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    lines = read_export(client, batch_id)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return lines, peak, seconds


def all_at_once(batch_id: str) -> tuple[int, int, float]:
    """The baseline: every row loaded and described in one list."""
    tracemalloc.start()
    started = time.perf_counter()
    with session_scope() as session:
        rows = [describe_item(item) for item in session.scalars(
            select(BatchItem).where(BatchItem.batch_id == batch_id).order_by(BatchItem.id))]
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return len(rows), peak, seconds


def main() -> None:
    """Build both batches, measure both ways, print one line per measurement and the ratios."""
    logging.disable(logging.WARNING)
    use_redis(fakeredis.FakeRedis(decode_responses=True))
    with tempfile.TemporaryDirectory(prefix="batchery-bench-") as directory:
        app = create_app({"AUTH_DISABLED": True, "BATCHERY_DATA_DIR": directory, "REDIS_PREFIX": "bench:",
                          "DATABASE_URL": f"sqlite:///{directory}/bench.sqlite3"})
        try:
            client = app.test_client()
            ids = {size: finished_batch(size) for size in SIZES}
            measured = {size: (streamed(client, ids[size]), all_at_once(ids[size])) for size in SIZES}
        finally:
            db.dispose_engine()
    print("GET /v1/batches/{id}/results.jsonl, peak Python memory while reading it (SQLite)")
    for size, ((lines, peak, seconds), (_, base_peak, base_seconds)) in measured.items():
        assert lines == size
        print(f"  {size:>7,} items   streamed {peak / 2**20:7.1f} MiB in {seconds:5.1f} s "
              f"({size / seconds:,.0f} lines/s)   one list {base_peak / 2**20:7.1f} MiB")
    small, large = SIZES
    print(f"  ratio {large:,}/{small:,} items:  streamed {measured[large][0][1] / measured[small][0][1]:.2f}   "
          f"one list {measured[large][1][1] / measured[small][1][1]:.2f}")


if __name__ == "__main__":
    main()
