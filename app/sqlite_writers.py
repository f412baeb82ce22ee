"""SQLite writers queue on a lock file, so a writer wakes up as soon as the lock is free.

SQLite lets one connection write at a time. A connection that finds the write lock taken waits in
SQLite's busy handler, which sleeps 1, 2, 5, 10 … ms between tries. A small file takes two short
write transactions (its claim and its store), so two worker processes collide about once every two
files, and each collision costs at least a millisecond of sleep; the transaction itself takes less.
Measured with files that run alone: about 850 busy sleeps in 20 s in each of 2 worker processes
before this lock, none with it.

Here a connection first takes an exclusive `flock` on `<database>-writers` before its first write
statement, and lets it go when its transaction ends. The kernel queues `flock` waiters and wakes the
next one when the lock is released, so writers take turns without sleeping. Readers never take it
(under WAL they do not wait for writers). SQLite's own locking still guards the data: a process that
does not take this lock (the sqlite3 shell, another program) only brings the busy handler back.

A writer waits for its turn as long as the transaction before it lasts: SQLite's busy timeout (30 s)
bounds only waits on processes that do not take the lock. Write transactions here are short (uploads
reach storage before their rows are flushed; Redis and the broker are called after the commit); one
that hung would stop every writer, as it would at SQLite's own lock, where each failed after 30 s.

The lock belongs to the process: its connections count how many of them are writing, and the first
takes the lock and the last releases it, so two connections of one process never wait for each other
here (they meet at SQLite's own lock, as before). A child process opens the lock file again after a
fork, so parent and child take turns like any two processes.
"""
import fcntl
import os
import re
import sqlite3
import sys

_READ = re.compile(r"\s*(SELECT|PRAGMA|WITH|EXPLAIN)\b", re.IGNORECASE)


def _native_lock():
    """A real OS lock even when gevent has patched threading (writes then run in its threadpool's threads)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        return monkey.get_original("_thread", "allocate_lock")()
    import _thread

    return _thread.allocate_lock()


class _ProcessTurn:
    """This process's hold on one database's writers lock, counted over its connections."""

    def __init__(self, path: str):
        self.path = path
        self._guard = _native_lock()
        self._fd: int | None = None
        self._pid: int | None = None
        self._writers = 0

    def _file(self) -> int:
        """The lock file's descriptor in this process (a forked child must not share its parent's)."""
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
            self._pid, self._writers = os.getpid(), 0
        return self._fd

    def enter(self) -> None:
        with self._guard:
            fd = self._file()
            if self._writers == 0:
                fcntl.flock(fd, fcntl.LOCK_EX)  # no one in this process holds it, so no one here waits on us
            self._writers += 1

    def leave(self) -> None:
        with self._guard:
            if self._pid != os.getpid() or self._writers == 0:
                return  # taken before a fork: the child never held it
            self._writers -= 1
            if self._writers == 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


_turns: dict[str, _ProcessTurn] = {}


def _turn_for(database: str) -> _ProcessTurn | None:
    """The writers lock of a database file; None for in-memory and URI databases."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = os.path.abspath(database) + "-writers"
    turn = _turns.get(path)
    if turn is None:
        turn = _turns.setdefault(path, _ProcessTurn(path))
    return turn


class QueuedCursor(sqlite3.Cursor):
    """Takes its connection's turn before a statement that may write."""

    def execute(self, sql, parameters=(), /):
        self.connection._before(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            self.connection._after()

    def executemany(self, sql, seq_of_parameters, /):
        self.connection._before(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            self.connection._after()


class QueuedConnection(sqlite3.Connection):
    """A sqlite3 connection (pass as `factory=`) whose write transactions take turns across processes."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self._turn = _turn_for(os.fsdecode(database))
        self._holding = False

    def cursor(self, factory=QueuedCursor):
        return super().cursor(factory)

    def execute(self, sql, parameters=(), /):   # sqlite3's shortcuts make a plain cursor: make ours
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters, /):
        return self.cursor().executemany(sql, seq_of_parameters)

    def _before(self, sql: str) -> None:
        # Only before a transaction begins, so a connection never waits here while it holds any SQLite lock (a
        # write that starts like a read, WITH … INSERT, just runs without a turn and meets SQLite's lock).
        if self._turn is not None and not self._holding and not self.in_transaction and not _READ.match(sql):
            self._turn.enter()
            self._holding = True

    def _after(self) -> None:
        if self._holding and not self.in_transaction:  # a statement that ran on its own (autocommit)
            self._release()

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            self._turn.leave()

    def commit(self):
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._release()

    def close(self):
        try:
            super().close()
        finally:
            self._release()

    def __del__(self):   # a connection dropped without close() must not keep this process's turn
        if getattr(self, "_holding", False):
            self._release()
