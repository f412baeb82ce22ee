"""`Client.ingest`: a folder into a collection in as many requests and batches as the limits call for, resumably.

Every upload and batch creation carries an Idempotency-Key derived from its contents, and the state file
records what landed; rerunning the same command after a crash uploads and submits only what is missing.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from app.client.client import FINISHED, Client, Json
from app.client.ingest_state import IngestState, default_state_path
from app.client.plan import LocalFile, Plan, Request, hash_file, pack, walk


class FileChanged(Exception):
    """A file's bytes changed between hashing and upload; rerunning the command hashes it again."""


@dataclass(frozen=True)
class Progress:
    """One progress report: `stage` is hashing, uploading, submitting or processing; `done` of `total` units."""

    stage: str
    done: int
    total: int
    items_per_second: float | None = None
    eta_seconds: int | None = None


@dataclass
class IngestReport:
    """What an ingest did; `batches` holds the last seen Batch object of each batch."""

    files: int = 0
    uploaded: int = 0
    already_uploaded: int = 0
    duplicates: list[str] = field(default_factory=list)
    too_large: list[str] = field(default_factory=list)
    requests: int = 0
    batch_ids: list[str] = field(default_factory=list)
    batches: dict[str, Json] = field(default_factory=dict)
    state_path: Path | None = None

    def count(self, name: str) -> int:
        """A progress counter summed over the batches (succeeded, failed, skipped, cancelled, total)."""
        return sum(b["progress"].get(name, 0) for b in self.batches.values())

    @property
    def finished(self) -> bool:
        return bool(self.batches) and all(b["status"] in FINISHED for b in self.batches.values())


def scan(paths, on_progress: Callable[[Progress], None]) -> list[LocalFile]:
    """Hash every file (content hashes are what makes a rerun recognise what already landed)."""
    entries = walk(paths)
    files = []
    for n, (path, name) in enumerate(entries, 1):
        size, sha256 = hash_file(path)
        files.append(LocalFile(path, name, size, sha256))
        on_progress(Progress("hashing", n, len(entries)))
    return files


class Ingest:
    """One run of an ingest plan against a client."""

    def __init__(self, client: Client, plan: Plan, state: IngestState, collection: str, bucket: str,
                 concurrency: int, on_progress: Callable[[Progress], None], batch_options: Json):
        self.client, self.plan, self.state = client, plan, state
        self.collection, self.bucket, self.concurrency = collection, bucket, concurrency
        self.on_progress, self.batch_options = on_progress, batch_options
        self.lock = threading.Lock()  # upload threads share the report and the byte count
        self.total_bytes = sum(f.size for f in plan.files)
        self.sent_bytes = sum(f.size for f in plan.files if f.sha256 in state.objects)
        self.report = IngestReport(files=len(plan.files) + len(plan.duplicates) + len(plan.too_large),
                                   duplicates=[f.name for f in plan.duplicates],
                                   too_large=[f.name for f in plan.too_large], state_path=state.path,
                                   already_uploaded=sum(1 for f in plan.files if f.sha256 in state.objects))

    def upload(self, request: Request) -> None:
        """Send one request's files; record the object ids they became."""
        contents = [(f.name, f.path.read_bytes()) for f in request.files]
        objects = self.client.objects.upload(contents, bucket=self.bucket, idempotency_key=request.key(self.bucket))
        self.state.record_objects({o["sha256"]: o["object_id"] for o in objects})  # a rerun reuses all that landed
        changed = [f.name for f, o in zip(request.files, objects) if o["sha256"] != f.sha256]
        if changed:  # the plan (and its keys) no longer describe these files: stop rather than guess
            raise FileChanged(f"{len(changed)} file(s) changed while ingesting, e.g. {changed[0]}; run again.")
        with self.lock:
            self.report.uploaded += len(objects)
            self.report.requests += 1
            self.sent_bytes += request.size
            self.on_progress(Progress("uploading", self.sent_bytes, self.total_bytes))

    def run(self) -> IngestReport:
        """Upload what is missing and create (and submit) each batch once all its objects landed."""
        self.on_progress(Progress("uploading", self.sent_bytes, self.total_bytes))
        pool = ThreadPoolExecutor(max_workers=self.concurrency)
        try:
            for number, batch in enumerate(self.plan.batches, 1):
                self.report.batch_ids.append(self.land(batch, pool))
                self.on_progress(Progress("submitting", number, len(self.plan.batches)))
        finally:  # on Ctrl-C or an error, queued uploads are dropped; the state file has what landed
            pool.shutdown(wait=True, cancel_futures=True)
        for batch_id in self.report.batch_ids:
            if batch_id not in self.report.batches:  # created by an earlier run: show where it is now
                self.report.batches[batch_id] = self.client.batches.get(batch_id)
        return self.report

    def land(self, batch, pool: ThreadPoolExecutor) -> str:
        """The batch's id: uploads its missing objects (bounded concurrency) and creates it, unless done before."""
        key = batch.key(self.collection)
        if key in self.state.batches:
            return self.state.batches[key]
        missing = [r for r in batch.requests if any(f.sha256 not in self.state.objects for f in r.files)]
        list(pool.map(self.upload, missing))  # the first failed upload raises here
        object_ids = [self.state.objects[f.sha256] for f in batch.files]
        created = self.client.batches.create(self.collection, object_ids, idempotency_key=key, **self.batch_options)
        self.state.record_batch(key, created["batch_id"])
        self.report.batches[created["batch_id"]] = created
        return created["batch_id"]


def wait_for_batches(client: Client, report: IngestReport, on_progress: Callable[[Progress], None],
                     poll_seconds: float = 1.0) -> IngestReport:
    """Poll every batch of the ingest until all are finished, reporting the combined progress and rate."""
    while True:
        for batch_id in report.batch_ids:
            if report.batches.get(batch_id, {}).get("status") not in FINISHED:
                report.batches[batch_id] = client.batches.get(batch_id)
        running = [b for b in report.batches.values() if b["status"] not in FINISHED]
        processed, total = report.count("processed"), report.count("total")
        rate = sum(b["progress"]["items_per_second"] or 0 for b in running) or None
        eta = int((total - processed) / rate) if rate else None
        on_progress(Progress("processing", processed, total, rate, eta))
        if not running:
            return report
        time.sleep(poll_seconds)


def ingest(client: Client, paths_or_dir, collection: str, *, bucket: str = "default", submit: bool = True,
           wait: bool = False, concurrency: int = 4, files_per_request: int = 100, request_bytes: int = 8 * 2**20,
           batch_objects: int | None = None, state_path: str | Path | None = None,
           on_progress: Callable[[Progress], None] | None = None, poll_seconds: float = 1.0,
           **batch_options) -> IngestReport:
    """Walk, hash, plan under GET /v1/limits, upload with bounded concurrency, create and submit batches, maybe wait.

    `batch_options` go to every batch (batch_name, force_overwrite, metadata, webhook_url…).
    """
    paths = [Path(p) for p in ([paths_or_dir] if isinstance(paths_or_dir, (str, Path)) else paths_or_dir)]
    report_progress = on_progress or (lambda _: None)
    files = scan(paths, report_progress)
    plan = pack(files, client.limits(), files_per_request=files_per_request, request_bytes=request_bytes,
                batch_objects=batch_objects)
    state_file = Path(state_path) if state_path else default_state_path(paths, collection)
    state = IngestState(state_file, client.http.base_url, collection)
    run = Ingest(client, plan, state, collection, bucket, concurrency, report_progress,
                 {"auto_submit": submit, **batch_options})
    report = run.run()
    if wait and report.batch_ids:
        wait_for_batches(client, report, report_progress, poll_seconds)
    return report
