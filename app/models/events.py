"""Batch events: facts recorded once, in the transaction of the transition they describe."""
from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, new_id, utcnow


class BatchEvent(Base):
    """One event of one batch; (batch, type) is unique so a redelivered transition never emits twice.

    The autoincrement id orders events for the event stream (it is the SSE `id:`); `event_id` is the
    public identity webhooks carry. `announced_at` is set once deliveries were enqueued.
    """

    __tablename__ = "batch_events"
    __table_args__ = (
        UniqueConstraint("batch_id", "type", name="uq_batch_events_batch_type"),
        Index("ix_batch_events_batch_id", "batch_id", "id"),
        Index("ix_batch_events_announced", "announced_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("evt"))
    namespace: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    announced_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
