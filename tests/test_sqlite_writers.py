"""SQLite writers take turns on `<database>-writers`: a waiting writer wakes when the lock frees, readers never wait."""
import fcntl
import multiprocessing
import os
import sqlite3
import time

import pytest

from app.sqlite_writers import QueuedConnection, _turn_for

FORK = multiprocessing.get_context("fork")


@pytest.fixture()
def database(tmp_path):
    path = str(tmp_path / "db.sqlite3")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (n INTEGER)")
    return path


def connect(path: str, timeout: float = 30) -> QueuedConnection:
    return sqlite3.connect(path, timeout=timeout, factory=QueuedConnection, check_same_thread=False)


def lock_is_free(path: str) -> bool:
    """Whether another open of the lock file could take it now (flock locks belong to the open file)."""
    fd = os.open(path + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def hold_the_lock_file(path: str, started, done) -> None:
    """In another process: hold the lock file alone (SQLite itself stays free) for a moment."""
    fd = os.open(path + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    started.set()
    time.sleep(0.5)
    done.value = time.time()
    fcntl.flock(fd, fcntl.LOCK_UN)


def test_a_write_takes_the_lock_until_its_transaction_ends(database):
    conn = connect(database)
    conn.execute("INSERT INTO t VALUES (1)")
    assert not lock_is_free(database)
    conn.commit()
    assert lock_is_free(database)
    conn.execute("UPDATE t SET n = 2")
    conn.rollback()
    assert lock_is_free(database)


def test_reads_and_statements_outside_a_transaction_leave_it_free(database):
    conn = connect(database)
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert lock_is_free(database)
    conn.execute("CREATE TABLE u (n INTEGER)")   # DDL runs on its own: the lock is let go right after
    assert lock_is_free(database)


def test_a_failed_write_lets_the_lock_go_with_its_rollback(database):
    conn = connect(database)
    conn.execute("CREATE UNIQUE INDEX one ON t (n)")
    conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO t VALUES (1)")
    conn.rollback()
    assert lock_is_free(database)
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_a_writer_waits_for_another_process_holding_the_lock_and_a_reader_does_not(database):
    started, done = FORK.Event(), FORK.Value("d", 0.0)
    holder = FORK.Process(target=hold_the_lock_file, args=(database, started, done))
    holder.start()
    try:
        assert started.wait(30)
        conn = connect(database)
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)   # a reader does not wait
        assert done.value == 0.0
        conn.execute("INSERT INTO t VALUES (2)")   # SQLite's lock is free: only the lock file holds it back
        wrote = time.time()
        conn.commit()
        assert wrote >= done.value > 0
    finally:
        holder.join(30)


def probe_after_fork(path: str, result) -> None:
    """In a forked child of a process holding the lock: can this child's own turn take it right now?"""
    turn = _turn_for(path)
    try:
        fcntl.flock(turn._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        result.value = 1   # it could: it shares the parent's lock (the inherited descriptor)
    except BlockingIOError:
        result.value = 2   # it could not: a lock file of its own, which waits for the parent


def test_a_forked_child_opens_the_lock_file_again(database):
    parent = connect(database)
    parent.execute("INSERT INTO t VALUES (1)")            # the parent holds the lock while it forks
    result = FORK.Value("i", 0)
    child = FORK.Process(target=probe_after_fork, args=(database, result))
    child.start()
    child.join(30)
    parent.commit()
    assert result.value == 2


def test_two_connections_of_one_process_never_wait_on_each_other_here(database):
    first, second = connect(database), connect(database, timeout=0.2)
    first.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="locked"):   # SQLite's own lock, after its timeout
        second.execute("INSERT INTO t VALUES (2)")
    second.rollback()                                # as SQLAlchemy does after a failed statement
    assert not lock_is_free(database)                # the first still writes
    first.commit()
    assert lock_is_free(database)
    second.execute("INSERT INTO t VALUES (2)")
    second.commit()
    assert lock_is_free(database)
