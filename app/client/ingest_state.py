"""The ingest's local state file: which contents landed as which objects, which batches exist. Survives a crash."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from app.client.plan import STATE_PREFIX

VERSION = 1


def default_state_path(paths: list[Path], collection: str) -> Path:
    """Next to the data: inside the folder ingested (hidden, so walks skip it), else the current directory."""
    folder = paths[0] if len(paths) == 1 and paths[0].is_dir() else Path.cwd()
    return folder / f"{STATE_PREFIX}{collection}.json"


class IngestState:
    """What already landed on the server; every change is written through an atomic rename."""

    def __init__(self, path: Path, server: str, collection: str):
        self.path, self.lock = path, threading.Lock()
        self.data = {"version": VERSION, "server": server, "collection": collection, "objects": {}, "batches": {}}
        if path.exists():
            saved = json.loads(path.read_text(encoding="utf-8"))
            # Another server's or collection's ids mean nothing here: start over rather than reuse them.
            if (saved.get("version"), saved.get("server"), saved.get("collection")) == (VERSION, server, collection):
                self.data = saved

    @property
    def objects(self) -> dict[str, str]:
        """sha256 → object id of every content uploaded."""
        return self.data["objects"]

    @property
    def batches(self) -> dict[str, str]:
        """Batch plan key → batch id of every batch created (and submitted)."""
        return self.data["batches"]

    def record_objects(self, landed: dict[str, str]) -> None:
        """Remember uploaded contents."""
        with self.lock:
            self.objects.update(landed)
            self._save()

    def record_batch(self, key: str, batch_id: str) -> None:
        """Remember a created batch."""
        with self.lock:
            self.batches[key] = batch_id
            self._save()

    def _save(self) -> None:
        partial = self.path.with_name(self.path.name + ".tmp")
        partial.write_text(json.dumps(self.data), encoding="utf-8")
        os.replace(partial, self.path)  # readers and a crash see the old file or the new one, never half
