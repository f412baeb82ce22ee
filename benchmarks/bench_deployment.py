"""The numbers that size a deployment: items/s per worker process (Redis vs RabbitMQ broker, vs extraction alone,
packed vs one task per file),
Redis (and RabbitMQ) memory of a 10,000-item chord, and PostgreSQL writes per item.

Run from the repository root:  python -m benchmarks.bench_deployment [--items 2000] [--chord 10000]
Needs the machine's Redis and PostgreSQL (RabbitMQ optional); uses a locked Redis database number and throwaway
PostgreSQL database and RabbitMQ vhost of its own.
"""
import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from app import create_app, db  # noqa: E402
from app.batches import packs  # noqa: E402
from app.extractors import extract  # noqa: E402
from app.models import Batch, BatchItem, StoredObject, utcnow  # noqa: E402
from app.queue import celery_app  # noqa: E402
from app.redis_client import use_redis  # noqa: E402
from tests.integration.rabbitmq import RabbitUnavailable, RabbitVhost  # noqa: E402
from tests.integration.stack import (PostgresDatabase, RedisDatabase, Worker, stack_settings, stub_celery,  # noqa: E402
                                     wait_for)
from tests.schema import migrate  # noqa: E402
from tests.integration.test_pipeline import upload_texts  # noqa: E402


def redis_bytes(client) -> int:
    """Sum of MEMORY USAGE over every key of our database (other databases on the server do not count)."""
    return sum(client.memory_usage(k, samples=0) or 0 for k in client.scan_iter(count=1000))


def pg_writes(database: PostgresDatabase) -> dict:
    """Cumulative commits and row writes of our database, as PostgreSQL's statistics see them.

    Read once its connections are closed (ours here, the worker's by stopping it): a backend publishes its counts
    when it exits, and an idle one holds them back up to 10 s (PostgreSQL 15+), so that long is waited at most.
    """
    import psycopg

    db.dispose_engine()
    with psycopg.connect(database.admin_url, autocommit=True) as conn:
        deadline = time.monotonic() + 11
        while time.monotonic() < deadline and conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database.name,)).fetchone()[0]:
            time.sleep(0.1)
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database "
                           "WHERE datname = %s", (database.name,)).fetchone()
    return dict(zip(("commits", "inserted", "updated", "deleted"), row))


def run_batch(client, ids: list[str], collection: str) -> float:
    """Submit a batch and wait for it; returns items/s from its started_at to completed_at (database clock)."""
    batch = client.post("/v1/batches", json={"collection_id": collection, "object_ids": ids,
                                             "auto_submit": True}).get_json()
    final = wait_for(lambda: (b := client.get(f"/v1/batches/{batch['batch_id']}").get_json())["status"] in
                     ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED") and b, 900, interval=2.0, message="the batch")
    assert final["status"] == "COMPLETED", final
    with db.session_scope() as session:
        row = session.get(Batch, batch["batch_id"])
        return len(ids) / (row.completed_at - row.started_at).total_seconds()


def measure_worker(settings: dict, broker: str, redis, postgres, items: int, label: str, tmp: Path) -> dict:
    """One worker process (concurrency 1) on `broker`: items/s, Redis bytes left per item, PostgreSQL writes per item."""
    settings = {**settings, "CELERY_BROKER_URL": broker}
    app = create_app(settings)
    use_redis(None)
    client = app.test_client()
    ids = upload_texts(client, items, label)
    worker = Worker({**os.environ, **settings}, tmp / f"worker-{label}.log", concurrency=1).wait_ready(celery_app)
    try:
        redis.flushdb()
        before, cpu = pg_writes(postgres), cpu_seconds(worker.process.pid)
        rate = run_batch(client, ids, label)
        cpu = cpu_seconds(worker.process.pid) - cpu
        left = redis_bytes(redis)
    finally:
        worker.stop()
    after = pg_writes(postgres)
    return {"rate": rate, "cpu_per_item": cpu / items, "redis_per_item": left / items,
            "pg": {k: (after[k] - before[k]) / items for k in before}}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a worker and its pool children: what a dedicated core would have to spend."""
    import psutil

    parent = psutil.Process(pid)
    reaped = sum(parent.cpu_times()[2:4])   # children_user, children_system: pool children already replaced
    return reaped + sum(sum(p.cpu_times()[:2]) for p in [parent, *parent.children(recursive=True)])


def queued_chord(settings: dict, broker: str, redis, size: int, rabbit: RabbitVhost | None) -> tuple[int, int, int]:
    """Bytes a `size`-item chord occupies while queued and unstarted: (in Redis, in RabbitMQ's queue, messages)."""
    from tasks.batch import dispatch_batch

    create_app({**settings, "CELERY_BROKER_URL": broker})
    use_redis(None)
    batch_id, old = f"bat_chord{int(time.time())}", utcnow() - timedelta(minutes=1)
    with db.session_scope() as session:
        session.add(Batch(id=batch_id, namespace="default", collection_id="chord", status="QUEUED",
                          task_id=f"tsk_{batch_id}", total_items=size, submitted_at=old, updated_at=old))
        session.execute(StoredObject.__table__.insert(), [
            {"id": f"obj_{batch_id}_{n}", "namespace": "default", "bucket": "b", "filename": f"{n}.txt",
             "media_type": "text/plain", "size_bytes": 1, "sha256": f"{n:064d}", "storage_path": f"x/{n}",
             "metadata": {}, "created_at": old} for n in range(size)])
        session.execute(BatchItem.__table__.insert(), [
            {"batch_id": batch_id, "object_id": f"obj_{batch_id}_{n}", "filename": f"{n}.txt", "media_type": "text/plain",
             "sha256": f"{n:064d}", "status": "PENDING", "attempts": 0, "processing_history": [], "updated_at": old}
            for n in range(size)])
    redis.flushdb()
    dispatch_batch.run(batch_id, "default")   # what a worker does: publish the chord (nobody consumes it here)
    gc.collect()   # the chord's AsyncResult unsubscribes now, while Redis is still there
    in_redis = redis_bytes(redis)
    # Small files travel in packs: the chord is one message per pack (plus one per lone large file).
    with db.session_scope() as session:
        plan = packs.plan_work(list(session.scalars(select(BatchItem.id).where(BatchItem.batch_id == batch_id))))
    messages = len(plan.packs) + len(plan.solo)
    if rabbit is None:
        return in_redis, 0, messages
    listed = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", rabbit.name, "name", "messages", "memory"],
                            capture_output=True, text=True).stdout
    name = celery_app.amqp.queues["batchery"].name   # prefixed on RabbitMQ
    queue = next(line.split() for line in listed.splitlines() if line.startswith(f"{name}\t"))
    assert int(queue[1]) == messages, listed
    return in_redis, int(queue[2]), messages


def extraction_rate(items: int) -> float:
    """The baseline: extract() alone, in this process, on texts like the batch's."""
    texts = [f"bench document {i}. It talks about subject {i % 13} at length.\n\nSecond paragraph of bench {i}."
             .encode() for i in range(items)]
    started = time.perf_counter()
    for data in texts:
        extract(data, dimensions=384)
    return items / (time.perf_counter() - started)


def main() -> int:
    """Measure on Redis, then RabbitMQ as the broker, and print the table the README quotes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--chord", type=int, default=10_000)
    args = parser.parse_args()
    redis, postgres = RedisDatabase(), PostgresDatabase()
    try:
        rabbit = RabbitVhost()
    except RabbitUnavailable as exc:
        print(f"RabbitMQ skipped: {exc}")
        rabbit = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = stack_settings(migrate(postgres.url), redis.url, Path(tmp))
            baseline = extraction_rate(args.items)
            print(f"extraction alone (baseline, in-process): {baseline:8.1f} items/s")
            brokers, first = [("redis", redis.url)] + ([("rabbitmq", rabbit.url)] if rabbit else []), None
            for name, url in brokers:
                m = measure_worker(settings, url, redis.client, postgres, args.items, name, Path(tmp))
                pg = m["pg"]
                first = first or m["rate"]
                print(f"{name:>8} broker, 1 worker process, {args.items} items: {m['rate']:6.1f} items/s "
                      f"({m['rate'] / baseline:.3f} of extraction alone, {m['rate'] / first:.2f}× the Redis broker)")
                print(f"{'':>8} worker CPU per item: {1000 * m['cpu_per_item']:.1f} ms "
                      f"→ ≈ {1 / m['cpu_per_item']:.0f} items/s per process on an idle core")
                print(f"{'':>8} Redis left per item (results, 24 h): {m['redis_per_item']:6.0f} B "
                      f"→ {m['redis_per_item'] * 10_000 / 1e6:.2f} MB per 10k items")
                print(f"{'':>8} PostgreSQL per item: {pg['commits']:.2f} transactions (reads too), "
                      f"{pg['inserted']:.1f} rows inserted, "
                      f"{pg['updated']:.1f} updated, {pg['deleted']:.1f} deleted")
            # The same texts with one task per file (PACK_MAX_ITEMS=1): how every large file or PDF travels.
            lone = max(args.items // 4, 50)
            m = measure_worker({**settings, "PACK_MAX_ITEMS": "1"}, redis.url, redis.client, postgres, lone, "lone",
                               Path(tmp))
            print(f"{'redis':>8} broker, one task per file (PACK_MAX_ITEMS=1), {lone} items: {m['rate']:6.1f} items/s "
                  f"({m['rate'] / first:.2f}× packed); worker CPU per item {1000 * m['cpu_per_item']:.1f} ms; "
                  f"PostgreSQL per item {m['pg']['commits']:.2f} transactions, {m['pg']['inserted']:.1f} inserted, "
                  f"{m['pg']['updated']:.1f} updated; Redis left per item {m['redis_per_item']:.0f} B")
            for name, url in brokers:
                in_redis, in_rabbit, messages = queued_chord(settings, url, redis.client, args.chord,
                                                             rabbit if name == "rabbitmq" else None)
                print(f"{args.chord:,}-item chord queued ({messages} messages), {name} broker: "
                      f"{in_redis / 1e6:.2f} MB in Redis"
                      + (f", {in_rabbit / 1e6:.2f} MB in RabbitMQ's queue" if in_rabbit else ""))
    finally:
        db.dispose_engine()
        stub_celery()
        redis.close()
        postgres.close()
        if rabbit:
            rabbit.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
