"""SQLite writers take turns on `<database>-writers`: a waiting writer wakes when the lock frees, readers never wait."""
import fcntl
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from app.sqlite_writers import QueuedConnection, _turn_for


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


# Another process holds the lock file alone (SQLite itself stays free) for half a second: a fresh interpreter,
# not a fork of this one, whose threads may hold locks a forked child would wait for.
HOLD_THE_LOCK_FILE = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1] + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(0.5)
released = time.time()
fcntl.flock(fd, fcntl.LOCK_UN)
print(released, flush=True)
"""


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


def test_a_writer_waits_for_another_process_holding_the_lock(database):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK_FILE, database], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        conn = connect(database)
        conn.execute("INSERT INTO t VALUES (2)")   # SQLite's lock is free: only the lock file holds it back
        wrote = time.time()
        conn.commit()
        assert wrote >= float(holder.stdout.readline())
    finally:
        holder.kill()
        holder.wait(30)


def test_a_forked_child_opens_the_lock_file_again(database):
    parent = connect(database)
    parent.execute("INSERT INTO t VALUES (1)")            # the parent holds the lock while it forks
    pid = os.fork()
    if pid == 0:  # the child: can its own turn take the lock right now? (no locks, no output: only its exit code)
        code = 3
        try:
            fcntl.flock(_turn_for(database)._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            code = 1   # it could: it shares the parent's lock (the inherited descriptor)
        except BlockingIOError:
            code = 2   # it could not: a lock file of its own, which waits for the parent
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while (status := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if status[0] == 0:   # stuck: never left behind
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    parent.commit()
    assert status[0] == pid and os.waitstatus_to_exitcode(status[1]) == 2


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


def test_a_transaction_begun_without_a_turn_never_waits_for_one(database):
    conn = connect(database)
    sqlite3.Connection.execute(conn, "BEGIN IMMEDIATE")   # SQLite's write lock, taken past the turn
    assert conn.in_transaction and lock_is_free(database)
    conn.execute("INSERT INTO t VALUES (6)")   # holding SQLite's lock: it must not queue for the file's
    assert lock_is_free(database)
    conn.commit()
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
