"""Idempotency records: the first request with a key runs, retries get its answer, a changed body is refused."""
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update

from app.settings import get_settings
from app.db import insert_ignoring_duplicates, session_scope
from app.errors import IdempotencyConflict
from app.models import IdempotencyRecord, utcnow

# A first request still unanswered after this long died with its process: a retry may take over.
ABANDONED_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Replay:
    """The stored answer of the first request."""

    status: int
    body: dict


def _where(namespace: str, key: str, scope: str):
    """The record's identity."""
    return (IdempotencyRecord.namespace == namespace, IdempotencyRecord.key == key, IdempotencyRecord.scope == scope)


def _try_claim(namespace: str, key: str, scope: str, fingerprint: str) -> bool:
    """Insert an in-progress record (the unique key arbitrates races); true when this request owns the key."""
    now = utcnow()
    with session_scope() as session:
        # An expired answer, or a first request that never finished, no longer holds the key.
        session.execute(delete(IdempotencyRecord).where(*_where(namespace, key, scope)).where(
            (IdempotencyRecord.expires_at < now)
            | (IdempotencyRecord.status.is_(None) & (IdempotencyRecord.created_at < now - ABANDONED_AFTER))))
        return insert_ignoring_duplicates(session, IdempotencyRecord, [{
            "namespace": namespace, "key": key, "scope": scope, "fingerprint": fingerprint, "created_at": now,
            "expires_at": now + timedelta(seconds=get_settings().IDEMPOTENCY_TTL_SECONDS)}]) == 1


def begin(namespace: str, key: str, scope: str, fingerprint: str, wait_seconds: float = 10.0) -> Replay | None:
    """None when this request should run (it now holds the key); else the first answer to replay."""
    deadline = time.monotonic() + wait_seconds
    while True:
        if _try_claim(namespace, key, scope, fingerprint):
            return None
        with session_scope() as session:
            record = session.scalars(select(IdempotencyRecord).where(*_where(namespace, key, scope))).first()
            if record is None:
                continue  # it expired between our two statements: claim again
            if record.fingerprint != fingerprint:
                raise IdempotencyConflict(
                    "This Idempotency-Key was used with a different request body.",
                    {"idempotency_key": key})
            if record.status is not None:
                return Replay(record.status, record.body)
        if time.monotonic() >= deadline:
            raise IdempotencyConflict("A request with this Idempotency-Key is still in progress; retry later.",
                                      {"idempotency_key": key, "in_progress": True})
        time.sleep(0.05)  # the first request is running: its answer is moments away


def finish(namespace: str, key: str, scope: str, status: int, body: dict) -> None:
    """Store the answer for retries."""
    with session_scope() as session:
        session.execute(update(IdempotencyRecord).where(*_where(namespace, key, scope))
                        .values(status=status, body=body))


def release(namespace: str, key: str, scope: str) -> None:
    """Forget an in-progress key whose request was refused, so a corrected retry can run."""
    with session_scope() as session:
        session.execute(delete(IdempotencyRecord).where(*_where(namespace, key, scope))
                        .where(IdempotencyRecord.status.is_(None)))


def purge_expired() -> int:
    """Delete expired records; returns how many."""
    with session_scope() as session:
        return session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < utcnow())).rowcount or 0
