"""The schema comes from Alembic migrations: they build the models' tables from empty, undo them, and agree with the models."""
import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from app import create_app, db, migrations
from app.models import Base
from tests.integration.stack import ROOT, PostgresDatabase


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """An empty SQLite file, then an empty throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    try:
        database = PostgresDatabase()
    except Exception as exc:  # no server on this machine
        pytest.skip(f"PostgreSQL not reachable ({exc.__class__.__name__})")
    yield database.url
    db.dispose_engine()
    database.close()


def tables(url: str) -> set[str]:
    """The tables the database has, Alembic's bookkeeping and SQLite's full-text index tables aside."""
    engine = db.build_engine(url)
    try:
        return {t for t in inspect(engine).get_table_names() if t != "alembic_version" and not t.startswith("vectors_fts")}
    finally:
        engine.dispose()


def differences(url: str) -> list:
    """What autogenerate would write if asked for a new revision now."""
    engine = db.build_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "include_object": migrations.include_object})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_upgrade_from_empty_then_downgrade_to_nothing_and_back(empty_database):
    migrations.upgrade(url=empty_database)
    assert tables(empty_database) == set(Base.metadata.tables)
    migrations.downgrade("base", url=empty_database)
    assert tables(empty_database) == set()
    migrations.upgrade(url=empty_database)
    assert tables(empty_database) == set(Base.metadata.tables)


def test_models_and_migrations_agree(empty_database):
    """A model change without its revision fails here: `batchery db revision -m "…"` writes it."""
    migrations.upgrade(url=empty_database)
    assert differences(empty_database) == []


def test_the_web_app_refuses_a_database_behind_the_code(empty_database, tmp_path, fake_redis):
    settings = {"AUTH_DISABLED": True, "BATCHERY_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": empty_database,
                "CELERY_BROKER_URL": "memory://", "CELERY_RESULT_BACKEND": "cache+memory://"}
    with pytest.raises(migrations.SchemaOutOfDate, match="Run `batchery db upgrade` first"):
        create_app(settings)
    migrations.upgrade(url=empty_database)
    assert create_app(settings).test_client().get("/healthz").status_code == 200
    db.dispose_engine()


def test_the_worker_refuses_a_database_behind_the_code(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "BATCHERY_DATA_DIR": str(tmp_path),
           "CELERY_BROKER_URL": "memory://", "CELERY_RESULT_BACKEND": "cache+memory://"}
    worker = subprocess.run([sys.executable, "-m", "celery", "-A", "tasks", "worker", "--pool", "solo",
                             "--without-mingle", "--without-gossip"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert worker.returncode != 0
    assert "Run `batchery db upgrade` first" in worker.stderr + worker.stdout


def test_batchery_db_upgrade_migrates_the_configured_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url, "BATCHERY_DATA_DIR": str(tmp_path)}

    def batchery_db(*args):
        return subprocess.run([sys.executable, "-m", "app.cli", "db", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    assert "database: (none)" in batchery_db("current").stdout
    assert batchery_db("upgrade").returncode == 0
    assert tables(url) == set(Base.metadata.tables)
    database, code = batchery_db("current").stdout.splitlines()
    assert database.split(":")[1].strip() == code.split(":")[1].strip() == ", ".join(sorted(migrations.heads()))


def test_sqlites_full_text_index_merges_sixteen_segments_at_a_time(tmp_path):
    """Revision 0004: fewer merge passes while ingesting (issue 11); a downgrade restores FTS5's defaults."""
    url = f"sqlite:///{tmp_path / 'fts.sqlite3'}"
    engine = db.build_engine(url)

    def merge_settings() -> dict:
        with engine.connect() as connection:
            return dict(connection.execute(text("SELECT k, v FROM vectors_fts_config "
                                                "WHERE k IN ('automerge', 'crisismerge')")).all())
    try:
        migrations.upgrade(url=url)
        assert merge_settings() == {"automerge": 16, "crisismerge": 64}
        migrations.downgrade("0003_collection_embedder", url=url)
        assert merge_settings() == {"automerge": 4, "crisismerge": 16}
    finally:
        engine.dispose()
