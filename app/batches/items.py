"""One item's journey after its claim: read, extract and embed it, then store its outcome (app.batches.store)."""
import logging
import time

from redis.exceptions import RedisError
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from app.objects import storage
from app.db import session_scope
from app.extractors import ExtractionError, extract
from app.models import BatchItem, ItemStatus, utcnow
from app.models.status import FINISHED_ITEM
from app.collections.embedders import EMBEDDERS
from app.batches import lease
from app.batches.claims import Claim, Refusal, Refused, claim_item
from app.batches.originals import ORIGINAL_DELETED, release_quietly
from app.batches.outcomes import TIMEOUT_MESSAGE, Outcome, failed, skipped, stage, timed_out
from app.batches.store import store_outcomes
from app.progress.counters import count_transitions

log = logging.getLogger(__name__)

__all__ = ["Claim", "claim_item", "work_on", "embed_claimed", "process_item", "give_up"]

# Worth another attempt (the database was busy or a connection dropped); anything else is the file's fault.
TRANSIENT_ERRORS = (OperationalError, RedisError, ConnectionError)


def _stages(records) -> list[dict]:
    """The extractor's stage records as JSON-ready dicts."""
    return [{"name": r.name, "duration_ms": round(r.duration_ms, 3), "outcome": r.outcome} for r in records or []]


def _caused_by(exc: BaseException, kinds: tuple) -> bool:
    """True when `exc` was raised while handling (or from) an exception of one of `kinds`."""
    seen = set()
    while exc is not None and id(exc) not in seen and kinds:
        if isinstance(exc, kinds):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def work_on(claim: Claim, timeout_errors: tuple = (), deadline: float | None = None) -> Outcome:
    """Read, extract and embed one claimed item; every per-file problem ends as a typed failure (transient ones raise)."""
    if claim.content_known and not claim.force_overwrite:
        return skipped(claim)
    if claim.original_deleted:
        return failed(claim, "processing_error", ORIGINAL_DELETED, [{"name": "read", "duration_ms": 0.0,
                                                                     "outcome": "error"}])
    embedder = EMBEDDERS.get(claim.embedder)
    if embedder is None or not embedder.available:
        return failed(claim, "processing_error", f"This worker cannot run the embedder {claim.embedder}: "
                      "install batchery[semantic] and route its queue to it.", [])
    history = []
    started = time.perf_counter()
    try:
        if claim.storage_path is None:
            raise FileNotFoundError("the object was deleted")
        data = storage.read_bytes(claim.storage_path)
        history.append(stage("read", started, "ok"))
        extraction = extract(data, dimensions=claim.dimensions,
                             text_embedder=None if embedder.builtin else embedder.embed_texts,
                             embedder_name=embedder.name)
    except timeout_errors:
        return timed_out(claim, history)
    except TRANSIENT_ERRORS:
        raise  # the task retries the item with backoff
    except ExtractionError as exc:
        history += _stages(exc.stages)
        if _caused_by(exc, timeout_errors):  # an extractor wrapped the time limit as a decode failure
            return timed_out(claim, history)
        return failed(claim, exc.error_type, str(exc), history)
    except FileNotFoundError:
        return failed(claim, "processing_error", "The stored file of this object is missing.", history)
    except Exception as exc:  # a per-file bug must fail the item, never the batch
        log.exception("extraction of item %s failed", claim.item_id)
        return failed(claim, "processing_error", f"{type(exc).__name__}: {exc}", history)
    history += _stages(extraction.stages)
    if deadline is not None and time.monotonic() > deadline:
        # The limit's exception fired but a library swallowed it (pypdf, parsing leniently, does): the
        # extraction may be partial, so it is a timeout and nothing is stored.
        return timed_out(claim, history)
    return Outcome(claim, ItemStatus.SUCCEEDED, history, {
        "chunks": len(extraction.chunks), "dimensions": extraction.dimensions, "media_type": extraction.media_type,
        "error_type": None, "error_message": None}, extraction, time.perf_counter() - started)


def embed_claimed(claim: Claim, timeout_errors: tuple = (), deadline: float | None = None) -> str:
    """Work on one claimed item and store its outcome; returns the item's status."""
    return store_outcomes([work_on(claim, timeout_errors, deadline)])[claim.item_id]


def fail_item(claim: Claim, error_type: str, message: str, history: list | None = None) -> str:
    """Record a typed failure for the item; returns the item's status."""
    return store_outcomes([failed(claim, error_type, message, history)])[claim.item_id]


def release_originals(claims: list[Claim], statuses: dict[int, str]) -> None:
    """`delete_originals`: drop the stored files of items that ended embedded (or known)."""
    for claim in claims:
        if claim.delete_originals and statuses.get(claim.item_id) in (ItemStatus.SUCCEEDED, ItemStatus.SKIPPED):
            release_quietly(claim.object_id, claim.item_id)


def process_item(item_id: int, namespace: str, timeout_errors: tuple = (), deadline: float | None = None) -> dict:
    """Claim and process one item (`deadline`: time.monotonic() of its time limit); returns a tiny summary."""
    claim = claim_item(item_id, namespace)
    if isinstance(claim, Refused):
        return {"item_id": item_id, "status": claim.status or claim.reason.value}
    with lease.kept([claim.item_id]):
        try:
            status = embed_claimed(claim, timeout_errors, deadline)
        except timeout_errors:
            status = fail_item(claim, "timeout", TIMEOUT_MESSAGE)
    release_originals([claim], {claim.item_id: status})
    return {"item_id": item_id, "status": status}


def give_up(item_id: int, message: str, attempts: int = 0) -> str:
    """End an open item FAILED after its transient errors used up every attempt (`attempts` of them)."""
    with session_scope() as session:
        item = session.get(BatchItem, item_id)
        if item is None or item.status in FINISHED_ITEM:
            return item.status if item else Refusal.MISSING.value
        old, tries = item.status, max(item.attempts, attempts)  # an attempt that failed before its claim still counts
        moved = session.execute(update(BatchItem).where(BatchItem.id == item_id, BatchItem.status == old).values(
            status=ItemStatus.FAILED, finished_at=utcnow(), updated_at=utcnow(), attempts=tries,
            error_type="processing_error", error_message=f"Gave up after {tries} attempts: {message}"[:2000]))
        if moved.rowcount != 1:
            return Refusal.RACED.value
        batch_id = item.batch_id
    count_transitions(batch_id, [(old, ItemStatus.FAILED)])
    return ItemStatus.FAILED
