"""Folders and files only this user may read: the data directory holds webhook secrets and tenants' files."""
import os
from pathlib import Path


def private_dir(path) -> Path:
    """Create the folder and any missing parents as 0700 (existing ones are left alone); return it resolved."""
    directory = Path(path).resolve()
    missing = [folder for folder in (directory, *directory.parents) if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    return directory


def private_file(path) -> Path:
    """Create the file as 0600 unless it exists (SQLite gives its -wal and -shm files the database's mode)."""
    path = Path(path)
    private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    return path
