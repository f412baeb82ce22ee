"""Under gevent, SQLite statements that may wait for the database's write lock run in gevent's threadpool.

SQLite waits for a lock held by another process (a worker's transaction) inside its C code, for up to
the busy timeout (30 s). In a gevent web worker that wait blocks the whole process: a POST waiting on
each web worker took /healthz, other tenants and every event stream down until the lock was released
(measured: a 3 s lock held elsewhere stalled /healthz for the full 30 s busy timeout once both web
workers had a waiting POST). Waiting in a native thread, only that request waits. Reads never wait
under WAL and stay inline: a thread hop costs more than most of them.
"""
import re
import sys

from sqlalchemy import event

_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)


def under_gevent() -> bool:
    """True in a process whose sockets gevent has patched (the web process's workers); never imports gevent."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("socket"))


def _in_thread(function, *args):
    """Run function(*args) in gevent's threadpool; this greenlet waits, the others run."""
    from gevent import get_hub

    return get_hub().threadpool.apply(function, args)


def _execute(cursor, statement, parameters, context) -> bool:
    """SQLAlchemy's do_execute hook: writes (and transaction statements) off the hub; reads inline."""
    if _READ.match(statement):
        return False
    _in_thread(cursor.execute, statement, parameters)
    return True


def _executemany(cursor, statement, parameters, context) -> bool:
    """SQLAlchemy's do_executemany hook: always a write."""
    _in_thread(cursor.executemany, statement, parameters)
    return True


def _execute_no_params(cursor, statement, context) -> bool:
    """SQLAlchemy's do_execute_no_params hook."""
    if _READ.match(statement):
        return False
    _in_thread(cursor.execute, statement)
    return True


def keep_the_hub_running(engine) -> None:
    """Make a SQLite engine's lock waits cooperative (call only under gevent)."""
    event.listen(engine, "do_execute", _execute)
    event.listen(engine, "do_executemany", _executemany)
    event.listen(engine, "do_execute_no_params", _execute_no_params)
