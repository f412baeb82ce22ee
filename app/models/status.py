"""Batch and item status values, the event types of the contract, and which transitions it allows."""
from enum import StrEnum


class BatchStatus(StrEnum):
    """Lifecycle of a batch: DRAFT → QUEUED → PROCESSING → a finished state."""

    DRAFT = "DRAFT"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class ItemStatus(StrEnum):
    """Lifecycle of one object inside a batch."""

    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


FINISHED_BATCH = frozenset(
    {BatchStatus.COMPLETED, BatchStatus.COMPLETED_WITH_ERRORS, BatchStatus.FAILED, BatchStatus.CANCELLED}
)
RUNNING_BATCH = frozenset({BatchStatus.QUEUED, BatchStatus.PROCESSING})
CANCELLABLE_BATCH = frozenset({BatchStatus.DRAFT, BatchStatus.QUEUED, BatchStatus.PROCESSING})
EVENT_TYPES = ("batch.submitted", "batch.completed", "batch.failed", "batch.cancelled", "collection.documents.written")
OPEN_ITEM = frozenset({ItemStatus.PENDING, ItemStatus.PROCESSING})
FINISHED_ITEM = frozenset({ItemStatus.SUCCEEDED, ItemStatus.SKIPPED, ItemStatus.FAILED, ItemStatus.CANCELLED})
