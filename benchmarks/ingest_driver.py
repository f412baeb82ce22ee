"""One timed batch through whichever Batchery source tree is the working directory (run by bench_ingest_history).

    cd TREE && python -c "import runpy, sys; sys.path.insert(0, '.'); sys.argv = sys.argv[1:];
        runpy.run_path(sys.argv[0], run_name='__main__')" DRIVER FILES_DIR REDIS_URL COUNT [DATABASE_URL]

Uses only what every version since the filing of issue 11 has: `app.create_app`, the HTTP contract (driven
in-process through the WSGI app, as bench_pipeline does), `tests.integration.stack` (Worker, stack_settings,
wait_for). A fresh SQLite file (or the empty DATABASE_URL given); 300 files warm the worker up, then COUNT
files are uploaded (not timed) and submit → COMPLETED is timed. Prints one JSON line: items/s and the
worker's CPU per item.
"""
import io
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psutil

from app import create_app, db
from app.queue import celery_app
from tests.integration.stack import Worker, stack_settings, wait_for

try:
    from tests.schema import migrate  # Alembic revisions (later versions)
except ImportError:  # earlier versions create their tables in create_app
    def migrate(url: str) -> str:
        return url


def worker_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the worker and its children so far."""
    process = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [process, *process.children(recursive=True)])


def batch(client, paths: list[Path], label: str, worker_pid: int) -> dict:
    """Upload (500 a request), then time submit → COMPLETED by the batch's own completed_at."""
    ids = []
    for start in range(0, len(paths), 500):
        parts = [(io.BytesIO(p.read_bytes()), p.name) for p in paths[start:start + 500]]
        response = client.post("/v1/objects", data={"file": parts}, content_type="multipart/form-data")
        assert response.status_code == 201, response.get_json()
        ids += [o["object_id"] for o in response.get_json()["objects"]]
    batch_id = client.post("/v1/batches", json={"collection_id": label, "object_ids": ids}).get_json()["batch_id"]
    cpu = worker_cpu(worker_pid)
    started = time.time()
    assert client.post(f"/v1/batches/{batch_id}/submit").status_code in (200, 202)
    final = wait_for(lambda: (b := client.get(f"/v1/batches/{batch_id}").get_json())["status"]
                     not in ("QUEUED", "PROCESSING") and b, 3600, interval=0.1, message=label)
    assert final["status"] == "COMPLETED", final
    elapsed = datetime.fromisoformat(final["completed_at"]).timestamp() - started
    return {"items_per_s": len(paths) / elapsed, "cpu_ms_per_item": (worker_cpu(worker_pid) - cpu) * 1000 / len(paths)}


def main() -> None:
    files_dir, redis_url, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    database_url = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else ""
    paths = sorted(files_dir.iterdir())
    with tempfile.TemporaryDirectory(prefix="batchery-history-") as tmp:
        settings = stack_settings(migrate(database_url or f"sqlite:///{tmp}/db.sqlite3"), redis_url, Path(tmp) / "data",
                                  MAX_BATCH_OBJECTS=str(max(count, 10000)))
        client = create_app(settings).test_client()
        worker = Worker({**os.environ, **settings}, Path(tmp) / "worker.log",
                        concurrency=int(os.environ.get("WORKER_CONCURRENCY", "2")))
        try:
            worker.wait_ready(celery_app)
            batch(client, paths[:300], "warm", worker.process.pid)
            result = batch(client, paths[300:300 + count], "measured", worker.process.pid)
        finally:
            worker.stop()
            db.dispose_engine()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
