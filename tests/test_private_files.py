"""The database and every stored file are readable by this user only: they hold webhook secrets and tenants' data."""
import stat

import pytest

from app import migrations
from tests.helpers import text_objects


def mode(path) -> int:
    """The permission bits of a path."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def settings_overrides(tmp_path, permissive_umask):
    """A data directory and database folder that did not exist, the database made as `batchery db upgrade` does."""
    url = f"sqlite:///{tmp_path / 'fresh' / 'db' / 'batchery.sqlite3'}"
    migrations.upgrade(url=url)
    return {"AUTH_DISABLED": True, "BATCHERY_DATA_DIR": str(tmp_path / "fresh" / "data"), "DATABASE_URL": url,
            "REDIS_PREFIX": "test:", "CELERY_BROKER_URL": "memory://", "CELERY_RESULT_BACKEND": "cache+memory://"}


@pytest.fixture
def permissive_umask():
    """0022, the common default: without explicit modes files would be 0644 and folders 0755."""
    import os

    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_database_files_and_folders_are_private(client, tmp_path):
    object_id = text_objects(client, 1)[0]
    database = tmp_path / "fresh" / "db" / "batchery.sqlite3"
    assert mode(database) == 0o600 and mode(database.parent) == 0o700
    for sidecar in (database.with_name("batchery.sqlite3-wal"), database.with_name("batchery.sqlite3-shm")):
        assert mode(sidecar) == 0o600  # WAL mode is on, so both exist while the app holds a connection
    stored = [p for p in (tmp_path / "fresh" / "data" / "objects").rglob("*") if p.is_file()]
    assert len(stored) == 1, object_id
    assert mode(stored[0]) == 0o600
    for folder in (stored[0].parent, stored[0].parent.parent, tmp_path / "fresh" / "data", tmp_path / "fresh"):
        assert mode(folder) == 0o700, folder
