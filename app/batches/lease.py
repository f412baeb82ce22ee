"""Lease heartbeat: items a process is working on renew their lease, so the reaper only re-sends dead work.

One daemon thread per process (started on first use, so also after a fork) renews every held item a
third of ITEM_LEASE_SECONDS; the lease can then be short without re-running live slow items.
"""
import logging
import os
import threading
from collections import Counter
from contextlib import contextmanager

from sqlalchemy import update

from app.settings import get_settings
from app.db import session_scope
from app.models import BatchItem, ItemStatus, utcnow

log = logging.getLogger(__name__)

_held: Counter = Counter()
_lock = threading.Lock()
_thread: tuple[int, threading.Thread] | None = None


def renew(item_ids) -> int:
    """Touch the items still PROCESSING; returns how many were renewed."""
    with session_scope() as session:
        return session.execute(update(BatchItem).where(
            BatchItem.id.in_(list(item_ids)), BatchItem.status == ItemStatus.PROCESSING,
        ).values(updated_at=utcnow()).execution_options(synchronize_session=False)).rowcount or 0


def interval() -> float:
    """Seconds between renewals: a third of the lease, so two missed beats still leave it alive."""
    return max(0.5, get_settings().ITEM_LEASE_SECONDS / 3)


def _beat() -> None:
    """Renew the held items until the process ends; a failed renewal is retried at the next beat."""
    while True:
        threading.Event().wait(interval())
        with _lock:
            ids = list(_held)
        if not ids:
            continue
        try:
            renew(ids)
        except Exception as exc:  # the database may be busy for a moment: the lease has room for that
            log.warning("could not renew the lease of %s items: %s", len(ids), exc)


def _ensure_thread() -> None:
    """Start this process's heartbeat thread (a forked child does not inherit the parent's)."""
    global _thread
    if _thread is None or _thread[0] != os.getpid() or not _thread[1].is_alive():
        thread = threading.Thread(target=_beat, name="item-lease", daemon=True)
        thread.start()
        _thread = (os.getpid(), thread)


@contextmanager
def kept(item_ids):
    """Hold the items' lease for the duration of the block."""
    ids = list(item_ids)
    with _lock:
        _ensure_thread()
        _held.update(ids)
    try:
        yield
    finally:
        with _lock:
            _held.subtract(ids)
            for item_id in ids:
                if _held[item_id] <= 0:
                    del _held[item_id]
