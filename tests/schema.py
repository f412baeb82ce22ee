"""Test databases get their tables from the migrations, as deployments do (one SQLite template copied per test)."""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

from app import migrations

_template: Path | None = None


def _sqlite_template() -> Path:
    """A SQLite file upgraded to head once per test run."""
    global _template
    if _template is None:
        folder, creator = tempfile.mkdtemp(prefix="batchery-schema-"), os.getpid()
        # Removed when this process exits (not by a forked child that runs its exit handlers).
        atexit.register(lambda: os.getpid() == creator and shutil.rmtree(folder, ignore_errors=True))
        path = Path(folder) / "template.sqlite3"
        migrations.upgrade(url=f"sqlite:///{path}")
        _template = path
    return _template


def migrate(database_url: str) -> str:
    """Bring a test database to the head revision: a copy of the template for a new SQLite file, else upgrade."""
    path = database_url.split("///", 1)[-1] if database_url.startswith("sqlite") else None
    if path and not Path(path).exists():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_sqlite_template(), path)
    else:
        migrations.upgrade(url=database_url)
    return database_url
