"""The Python SDK: `Client(base_url, api_key)` with objects, batches and collections, one method per endpoint."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from app.client.transport import ApiError, Transport, new_idempotency_key

FINISHED = frozenset({"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"})
Json = dict[str, Any]


def _pages(fetch: Callable[[str | None], Json], key: str) -> Iterator[Json]:
    """Every row of a cursor-paginated list."""
    cursor = None
    while True:
        page = fetch(cursor)
        yield from page[key]
        cursor = page.get("next_cursor")
        if not cursor:
            return


class Objects:
    """Files and inline texts."""

    def __init__(self, http: Transport):
        self.http = http

    def upload(self, files: Iterable[tuple[str, bytes]], bucket: str = "default", metadata: Json | None = None,
               idempotency_key: str | None = None) -> list[Json]:
        """Upload (filename, bytes) pairs in one multipart request; a retry with the same key creates nothing new."""
        form = {"bucket": bucket, **({"metadata": json.dumps(metadata)} if metadata else {})}
        parts = [("file", (name, content, "application/octet-stream")) for name, content in files]
        headers = {"Idempotency-Key": idempotency_key or new_idempotency_key()}
        return self.http.json("POST", "/v1/objects", data=form, files=parts, headers=headers)["objects"]

    def upload_paths(self, paths: Iterable[str | Path], **options) -> list[Json]:
        """Upload files from disk in one request."""
        return self.upload([(Path(p).name, Path(p).read_bytes()) for p in paths], **options)

    def create_text(self, text: str, filename: str = "text.txt", bucket: str = "default") -> Json:
        """One inline text object."""
        body = {"text": text, "filename": filename, "bucket": bucket}
        return self.http.json("POST", "/v1/objects", json=body,
                              headers={"Idempotency-Key": new_idempotency_key()})["objects"][0]

    def get(self, object_id: str) -> Json:
        """One object."""
        return self.http.json("GET", f"/v1/objects/{object_id}")

    def list(self, bucket: str | None = None, page_size: int = 100) -> Iterator[Json]:
        """Every object (newest first), across all pages."""
        params = {"limit": page_size, **({"bucket": bucket} if bucket else {})}
        return _pages(lambda c: self.http.json("GET", "/v1/objects", params={**params, **({"cursor": c} if c else {})}),
                      "objects")

    def delete(self, object_id: str) -> None:
        """Delete an object."""
        self.http.json("DELETE", f"/v1/objects/{object_id}")


class Batches:
    """Batches: create, fill, submit, watch, read results, cancel, retry."""

    def __init__(self, http: Transport):
        self.http = http

    def create(self, collection_id: str, object_ids: Iterable[str] = (), *, batch_name: str | None = None,
               auto_submit: bool = False, idempotency_key: str | None = None, **fields) -> Json:
        """A new batch (DRAFT, or QUEUED with auto_submit); extra fields as in the contract (metadata, webhook_url…)."""
        body = {"collection_id": collection_id, "object_ids": list(object_ids), "auto_submit": auto_submit, **fields}
        if batch_name is not None:
            body["batch_name"] = batch_name
        return self.http.json("POST", "/v1/batches", json=body,
                              headers={"Idempotency-Key": idempotency_key or new_idempotency_key()})

    def add_objects(self, batch_id: str, object_ids: Iterable[str]) -> Json:
        """Add objects to a DRAFT batch (repeats are no-ops, so retrying is safe)."""
        return self.http.json("POST", f"/v1/batches/{batch_id}/objects", json={"object_ids": list(object_ids)})

    def submit(self, batch_id: str) -> Json:
        """Queue a DRAFT batch; repeating it returns the same task id."""
        return self.http.json("POST", f"/v1/batches/{batch_id}/submit", json={})

    def get(self, batch_id: str) -> Json:
        """The batch with live progress."""
        return self.http.json("GET", f"/v1/batches/{batch_id}")

    def list(self, status: str | None = None, collection_id: str | None = None, page_size: int = 50,
             limit: int | None = None) -> Iterator[Json]:
        """Batches newest first (at most `limit` of them)."""
        params = {"limit": page_size, **{k: v for k, v in (("status", status), ("collection_id", collection_id)) if v}}
        rows = _pages(lambda c: self.http.json("GET", "/v1/batches", params={**params, **({"cursor": c} if c else {})}),
                      "batches")
        for n, row in enumerate(rows):
            if limit is not None and n >= limit:
                return
            yield row

    def wait(self, batch_id: str, on_progress: Callable[[Json], None] | None = None, poll_seconds: float = 1.0,
             timeout: float | None = None) -> Json:
        """Poll until the batch is finished; `on_progress(batch)` sees every poll. Returns the finished batch."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            batch = self.get(batch_id)
            if on_progress:
                on_progress(batch)
            if batch["status"] in FINISHED:
                return batch
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"batch {batch_id} still {batch['status']} after {timeout}s")
            time.sleep(poll_seconds)

    def results(self, batch_id: str, status: str | None = None, page_size: int = 500) -> Iterator[Json]:
        """Every item's result, across all pages, in batch order."""
        params = {"limit": page_size, **({"status": status} if status else {})}
        return _pages(lambda c: self.http.json("GET", f"/v1/batches/{batch_id}/results",
                                               params={**params, **({"cursor": c} if c else {})}), "results")

    def export_results(self, batch_id: str, path: str | Path | None = None) -> Iterator[Json] | int:
        """The streamed results.jsonl: rows as an iterator, or written to `path` (returns the line count)."""
        rows = self.http.lines(f"/v1/batches/{batch_id}/results.jsonl")
        if path is None:
            return rows
        return write_jsonl(rows, path)

    def errors(self, batch_id: str) -> Json:
        """Failed items grouped by error type."""
        return self.http.json("GET", f"/v1/batches/{batch_id}/errors")

    def cancel(self, batch_id: str) -> Json:
        """Cancel: pending items end CANCELLED; finished ones keep their results."""
        return self.http.json("PUT", f"/v1/batches/{batch_id}/state", json={"state": "CANCELLED"})

    def retry(self, batch_id: str, error_types: list[str] | None = None, include_cancelled: bool = True) -> Json:
        """A new DRAFT batch of the retryable failed (and cancelled) items; the server's default skips deterministic errors."""
        body: Json = {"include_cancelled": include_cancelled}
        if error_types:
            body["error_types"] = list(error_types)
        return self.http.json("POST", f"/v1/batches/{batch_id}/retry", json=body)

    def delete(self, batch_id: str) -> None:
        """Delete a DRAFT or finished batch."""
        self.http.json("DELETE", f"/v1/batches/{batch_id}")


class Collections:
    """Collections and search."""

    def __init__(self, http: Transport):
        self.http = http

    def list(self, page_size: int = 100) -> Iterator[Json]:
        """Every collection."""
        return _pages(lambda c: self.http.json("GET", "/v1/collections",
                                               params={"limit": page_size, **({"cursor": c} if c else {})}),
                      "collections")

    def get(self, collection_id: str) -> Json:
        """One collection's counts and embedder."""
        return self.http.json("GET", f"/v1/collections/{collection_id}")

    def create(self, collection_id: str, embedder: str | None = None) -> Json:
        """A new collection (409 invalid_state if it exists)."""
        body = {"collection_id": collection_id, **({"embedder": embedder} if embedder else {})}
        return self.http.json("POST", "/v1/collections", json=body)

    def delete(self, collection_id: str) -> None:
        """Delete a collection's vectors and index rows."""
        self.http.json("DELETE", f"/v1/collections/{collection_id}")

    def search(self, collection_id: str, query: str, top_k: int = 10, mode: str | None = None) -> list[Json]:
        """The best-matching chunks for a text query."""
        body: Json = {"query": query, "top_k": top_k, **({"mode": mode} if mode else {})}
        return self.http.json("POST", f"/v1/collections/{collection_id}/search", json=body)["hits"]

    def export(self, collection_id: str, path: str | Path | None = None) -> Iterator[Json] | int:
        """The streamed export.jsonl (one chunk with its vector per line), as an iterator or written to `path`."""
        rows = self.http.lines(f"/v1/collections/{collection_id}/export.jsonl")
        if path is None:
            return rows
        return write_jsonl(rows, path)


def write_jsonl(rows: Iterable[Json], path: str | Path) -> int:
    """Write rows as JSON lines through a temporary file, so a broken stream never leaves half a file."""
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    count = 0
    with partial.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    partial.replace(target)
    return count


class Client:
    """Entry point of the SDK: `Client("http://127.0.0.1:8000", api_key)`."""

    def __init__(self, base_url: str, api_key: str | None = None, **transport_options):
        self.http = Transport(base_url, api_key, **transport_options)
        self.objects = Objects(self.http)
        self.batches = Batches(self.http)
        self.collections = Collections(self.http)

    def limits(self) -> Json:
        """The limits in force (GET /v1/limits)."""
        return self.http.json("GET", "/v1/limits")

    def ingest(self, paths_or_dir, collection: str, **options):
        """Upload a folder (or files) into a collection under every limit, resumably; see app.client.ingest."""
        from app.client.ingest import ingest

        return ingest(self, paths_or_dir, collection, **options)


__all__ = ["ApiError", "Client"]
