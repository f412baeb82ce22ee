"""How a claimed item ended, before it is stored: succeeded with its extraction, skipped, or a typed failure."""
import time
from dataclasses import dataclass, field

from app.extractors import Extraction
from app.models import ItemStatus
from app.batches.claims import Claim

TIMEOUT_MESSAGE = "Processing took longer than the per-item time limit."


@dataclass
class Outcome:
    """How one claimed item ended, not yet stored: its status, column values and (when it succeeded) its vectors."""

    claim: Claim
    status: str
    history: list | None = None
    values: dict = field(default_factory=dict)
    extraction: Extraction | None = None
    seconds: float = 0.0


def failed(claim: Claim, error_type: str, message: str, history: list | None = None) -> Outcome:
    """A typed failure of the item."""
    return Outcome(claim, ItemStatus.FAILED, history, {"error_type": error_type, "error_message": message[:2000]})


def timed_out(claim: Claim, history: list | None = None) -> Outcome:
    """The item went over its time limit."""
    return failed(claim, "timeout", TIMEOUT_MESSAGE, history)


def skipped(claim: Claim, history: list | None = None) -> Outcome:
    """The collection already holds these bytes."""
    return Outcome(claim, ItemStatus.SKIPPED, (history or []) + [{"name": "dedup", "duration_ms": 0.0,
                                                                 "outcome": "skipped"}])


def stage(name: str, started: float, outcome: str) -> dict:
    """A processing-history entry."""
    return {"name": name, "duration_ms": round((time.perf_counter() - started) * 1000, 3), "outcome": outcome}
