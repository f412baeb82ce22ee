"""A batch of objects headed for one collection, and its per-object items."""
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, new_id, utcnow
from app.models.status import BatchStatus, ItemStatus


class Batch(Base):
    """A unit of submission; its status moves only by conditional updates in the services."""

    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_ns_id", "namespace", "id"), Index("ix_batches_status", "status"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("bat"))
    namespace: Mapped[str] = mapped_column(String(64))
    collection_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(32), default=BatchStatus.DRAFT)
    task_id: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    force_overwrite: Mapped[bool] = mapped_column(Boolean, default=False)
    include_processing_history: Mapped[bool] = mapped_column(Boolean, default=False)
    delete_originals: Mapped[bool] = mapped_column(Boolean, default=False)
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    submit_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    parent_batch_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    total_items: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BatchItem(Base):
    """One object inside one batch; (batch, object) is unique so adding twice is a no-op."""

    __tablename__ = "batch_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "object_id", name="uq_batch_items_batch_object"),
        Index("ix_batch_items_batch_status", "batch_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(40), ForeignKey("batches.id", ondelete="CASCADE"))
    object_id: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default=ItemStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dimensions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    processing_history: Mapped[list] = mapped_column(JSON, default=list)
    started_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
