"""Cost of the beat tasks on a real database: a quiet reaper pass, a pass that re-sends a whole stalled
batch, and a schedule tick picking new objects out of a large bucket.

Run from the repository root:  python -m benchmarks.bench_reaper [--items 20000] [--postgres URL]
(SQLite in a temporary directory always; PostgreSQL too when reachable.)
"""
import argparse
import logging
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fakeredis  # noqa: E402

from app import db, migrations  # noqa: E402
from app.settings import configure, load_settings  # noqa: E402
from app.models import Batch, BatchItem, Schedule, StoredObject, utcnow  # noqa: E402
from app.redis_client import use_redis  # noqa: E402
from app.scheduling import runs  # noqa: E402
from app.maintenance.reaper import reconcile  # noqa: E402


def _seed(items: int) -> None:
    """One PROCESSING batch of `items` PENDING items untouched for an hour, over objects of one bucket."""
    old = utcnow() - timedelta(hours=1)
    with db.session_scope() as session:
        session.add(Batch(id="bat_bench", namespace="bench", collection_id="c", status="PROCESSING", task_id="tsk_bench",
                          total_items=items, started_at=old, submitted_at=old, updated_at=old))
        session.execute(StoredObject.__table__.insert(), [
            {"id": f"obj_{n:08d}", "namespace": "bench", "bucket": "b", "filename": f"{n}.txt", "media_type": "text/plain",
             "size_bytes": 1, "sha256": f"{n:064d}", "storage_path": f"x/{n}", "metadata": {}, "created_at": old}
            for n in range(items)])
        session.execute(BatchItem.__table__.insert(), [
            {"batch_id": "bat_bench", "object_id": f"obj_{n:08d}", "filename": f"{n}.txt", "media_type": "text/plain",
             "sha256": f"{n:064d}", "status": "PENDING", "attempts": 0, "processing_history": [], "updated_at": old}
            for n in range(items)])
        # Half the bucket already landed in collection "c2": a schedule onto it must find the other half.
        session.add(Batch(id="bat_done", namespace="bench", collection_id="c2", status="COMPLETED", total_items=items // 2))
        session.execute(BatchItem.__table__.insert(), [
            {"batch_id": "bat_done", "object_id": f"obj_{n:08d}", "filename": f"{n}.txt", "media_type": "text/plain",
             "sha256": f"{n:064d}", "status": "SUCCEEDED", "attempts": 1, "processing_history": [], "updated_at": old}
            for n in range(items // 2)])
        session.add(Schedule(id="sch_bench", namespace="bench", name="bench", cron="* * * * *", bucket="b",
                             collection_id="c2", enabled=True, next_run_at=old))


def _timed(label: str, work):
    """Run once and print the wall time."""
    started = time.perf_counter()
    result = work()
    print(f"  {label:<46} {1000 * (time.perf_counter() - started):9.1f} ms")
    return result


def run(url: str, items: int) -> None:
    """Seed a fresh database and time the passes."""
    configure(load_settings({"DATABASE_URL": url, "SCHEDULE_MAX_OBJECTS": 5_000}))
    db.dispose_engine()
    migrations.upgrade()
    use_redis(fakeredis.FakeRedis(decode_responses=True))
    _seed(items)
    print(f"{url.split(':')[0]} — {items:,} items in one stalled batch, {items:,} objects in the bucket")
    found = _timed("reaper pass re-sending the stalled batch", reconcile)
    assert len(found.items) == items
    _timed("quiet reaper pass right after (nothing to do)", reconcile)
    started = _timed("schedule tick: 5,000 of the 10,000 new objects", runs.run_due_schedules)
    assert len(started) == 1, started
    db.dispose_engine()


def main() -> int:
    """Parse arguments and run on SQLite, then PostgreSQL when reachable."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    logging.getLogger("app").setLevel(logging.ERROR)   # the reaper's own summary line would interleave
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.sqlite3", args.items)
    try:
        import psycopg

        name = f"batchery_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        print(f"PostgreSQL skipped: {exc.__class__.__name__}")
        return 0
    try:
        base = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        run(f"{base}/{name}", args.items)
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
