"""Ingest planning: walk the files, hash them, and pack them into requests and batches under the server's limits.

The plan depends only on the files and the limits, never on what already landed, so a rerun after a crash
rebuilds the same requests and batches, and their Idempotency-Keys match the first run's.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

STATE_PREFIX = ".batchery-ingest-"
PART_OVERHEAD = 256  # multipart headers of one file part, besides its filename
FORM_FIELDS = 2      # the bucket and metadata fields share MAX_MULTIPART_PARTS with the files


@dataclass(frozen=True)
class LocalFile:
    """One file to ingest: where it is, the name the server sees, its size and content hash."""

    path: Path
    name: str
    size: int
    sha256: str

    def part_bytes(self) -> int:
        """Roughly what this file adds to a multipart body."""
        return self.size + PART_OVERHEAD + len(self.name.encode())


def content_key(kind: str, scope: str, parts: Iterable[str]) -> str:
    """An Idempotency-Key that only the same parts, in the same scope, produce again."""
    digest = hashlib.sha256(scope.encode())
    for part in parts:
        digest.update(f"\0{part}".encode())
    return f"{kind}-{digest.hexdigest()[:48]}"


@dataclass
class Request:
    """Files uploaded together in one POST /v1/objects."""

    files: list[LocalFile] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def key(self, bucket: str) -> str:
        """The Idempotency-Key: the same files in the same bucket always make the same key."""
        return content_key("ingest-objects", bucket, (f"{f.name}\0{f.sha256}" for f in self.files))


@dataclass
class BatchPlan:
    """Requests whose objects become one batch."""

    requests: list[Request] = field(default_factory=list)

    @property
    def files(self) -> list[LocalFile]:
        return [f for r in self.requests for f in r.files]

    def key(self, collection: str) -> str:
        """The batch's Idempotency-Key, from the collection and its contents."""
        return content_key("ingest-batch", collection, (f.sha256 for f in self.files))


@dataclass
class Plan:
    """The whole ingest: batches of requests, plus what was left out and why."""

    batches: list[BatchPlan]
    too_large: list[LocalFile]
    duplicates: list[LocalFile]

    @property
    def files(self) -> list[LocalFile]:
        return [f for b in self.batches for f in b.files]


def walk(paths: Iterable[str | Path]) -> list[tuple[Path, str]]:
    """(path, name) of every regular file under the given files and folders, sorted; hidden entries are skipped."""
    found = []
    for given in paths:
        root = Path(given)
        if root.is_file():
            found.append((root, root.name))
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"No such file or folder: {root}")
        for path in root.rglob("*"):
            relative = path.relative_to(root)
            if path.is_file() and not any(part.startswith(".") for part in relative.parts):
                found.append((path, relative.as_posix()))
    return sorted(found, key=lambda entry: entry[1])


def hash_file(path: Path) -> tuple[int, str]:
    """Size and sha256 of a file, read in blocks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _limit(limits: dict, name: str, own: int | None) -> int | None:
    """The tighter of the server's limit and our own choice (either may be None: no limit)."""
    values = [v for v in (limits.get(name), own) if v is not None]
    return min(values) if values else None


def _fits(count: int, size: int, max_count: int | None, max_size: int | None) -> bool:
    return (max_count is None or count <= max_count) and (max_size is None or size <= max_size)


def pack(files: list[LocalFile], limits: dict, files_per_request: int = 100, request_bytes: int = 8 * 2**20,
         batch_objects: int | None = None) -> Plan:
    """Distinct contents packed greedily, in order, into batches and their requests, under every limit."""
    seen, distinct, duplicates, too_large = set(), [], [], []
    body_limit = _limit(limits, "max_content_length", request_bytes)
    for f in files:
        if f.sha256 in seen:
            duplicates.append(f)
        elif not _fits(1, f.size, None, limits.get("max_file_bytes")) or not _fits(
                1, f.part_bytes() + 1024, None, limits.get("max_content_length")):
            too_large.append(f)
        else:
            seen.add(f.sha256)
            distinct.append(f)
    parts = _limit(limits, "max_multipart_parts", None)
    parts = min(files_per_request, parts - FORM_FIELDS) if parts else files_per_request
    max_objects = _limit(limits, "max_batch_objects", batch_objects)
    batches: list[BatchPlan] = []
    batch_count = batch_size = request_body = 0
    for f in distinct:
        if not batches or not _fits(batch_count + 1, batch_size + f.size, max_objects, limits.get("max_batch_bytes")):
            batches.append(BatchPlan())
            batch_count = batch_size = 0
        requests = batches[-1].requests
        if not requests or not _fits(len(requests[-1].files) + 1, request_body + f.part_bytes(), parts,
                                     body_limit and body_limit - 1024):
            requests.append(Request())
            request_body = 0
        requests[-1].files.append(f)
        request_body += f.part_bytes()
        batch_count += 1
        batch_size += f.size
    return Plan(batches, too_large, duplicates)
