"""SQLAlchemy models; importing this package registers every table on Base.metadata."""
from app.models.base import Base, new_id, utcnow
from app.models.batches import Batch, BatchItem
from app.models.events import BatchEvent
from app.models.idempotency import IdempotencyRecord
from app.models.keys import ApiKey
from app.models.objects import StoredObject
from app.models.schedules import Schedule, ScheduleRun
from app.models.status import BatchStatus, ItemStatus
from app.models.vectors import Collection, Vector
from app.models.webhooks import Webhook, WebhookDelivery

__all__ = [
    "Base", "new_id", "utcnow", "Batch", "BatchItem", "StoredObject", "BatchStatus", "ItemStatus",
    "Collection", "Vector",
    "BatchEvent", "Webhook", "WebhookDelivery", "ApiKey", "IdempotencyRecord", "Schedule", "ScheduleRun",
]
