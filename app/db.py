"""The one engine and session factory; SQLite tuned for several worker processes; after-commit publishing; fork safety."""
import logging
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.migrations import SchemaOutOfDate, ensure_current  # noqa: F401  (SchemaOutOfDate: what ensure_schema_current raises)
from app.private_files import private_file
from app.sqlite_off_hub import keep_the_hub_running, under_gevent
from app.sqlite_writers import QueuedConnection
from app.settings import get_settings

log = logging.getLogger(__name__)
_engine: Engine | None = None
_ROWS_PER_INSERT = 1000
_sessions: sessionmaker | None = None


def _tune_sqlite(dbapi_connection, _record):
    """WAL lets readers and one writer overlap; the busy timeout makes writers wait, not fail."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def build_engine(url: str) -> Engine:
    """An engine for the URL, with SQLite's pragmas or a pre-pinged pool for servers."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            private_file(path)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False,
                                                  "factory": QueuedConnection})
        event.listen(engine, "connect", _tune_sqlite)
        if under_gevent():  # a web worker: a statement waiting for the write lock must not stop the process
            keep_the_hub_running(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def get_engine() -> Engine:
    """The process's engine, created on first use from the current settings."""
    global _engine, _sessions
    if _engine is None:
        _engine = build_engine(get_settings().database_url)
        _sessions = sessionmaker(bind=_engine, expire_on_commit=False)
    return _engine


def dispose_engine() -> None:
    """Forget the engine so the next use opens fresh connections (after fork, or on reconfigure)."""
    global _engine, _sessions
    if _engine is not None:
        # close=False: the parent's connections belong to the parent; only drop our references.
        _engine.dispose(close=False)
    _engine = _sessions = None


@contextmanager
def session_scope():
    """A unit of work: commit on success, roll back on error, always close."""
    get_engine()
    session: Session = _sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        for undo in reversed(session.info.pop("on_rollback", [])):
            undo()
        raise
    finally:
        session.close()


def publish_after_commit(session, publish, *args, **kwargs) -> None:
    """Call `publish(*args, **kwargs)` once this session's transaction commits (never if it rolls back).

    Enqueueing before the commit lets a worker look for rows that do not exist yet; a publish that
    fails after the commit is logged, not raised: the reaper and the announce sweep redo it from the database.
    """
    pending = session.info.setdefault("after_commit", [])
    if (publish, args, kwargs) not in pending:  # the same announcement twice in one transaction is one
        pending.append((publish, args, kwargs))


@event.listens_for(Session, "after_commit")
def _publish_committed(session) -> None:
    """Run what the committed transaction asked to publish."""
    for publish, args, kwargs in session.info.pop("after_commit", []):
        try:
            publish(*args, **kwargs)
        except Exception:
            log.exception("publishing %s%r after commit failed; reconciliation will redo it",
                          getattr(publish, "__name__", publish), args)


@event.listens_for(Session, "after_rollback")
def _drop_uncommitted(session) -> None:
    """A rolled-back transaction publishes nothing."""
    session.info.pop("after_commit", None)


def on_rollback(session, undo) -> None:
    """Run `undo()` if this unit of work fails (e.g. delete a file written for rows that never landed)."""
    session.info.setdefault("on_rollback", []).append(undo)


def ensure_schema_current() -> None:
    """Raise SchemaOutOfDate unless the database is at the migrations' head (web and worker start-up)."""
    ensure_current(get_engine())


def insert_ignoring_duplicates(session, model, rows: list[dict]) -> int:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; returns how many rows were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # One statement per slice: PostgreSQL allows 65,535 parameters per statement, SQLite 32,766.
    new = 0
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        statement = insert(model).values(rows[start:start + _ROWS_PER_INSERT]).on_conflict_do_nothing()
        # RETURNING counts the new rows on both databases (psycopg reports rowcount -1 for multi-row VALUES).
        new += len(session.execute(statement.returning(*model.__table__.primary_key.columns)).all())
    return new
