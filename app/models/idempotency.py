"""Remembered answers to POSTs that carried an Idempotency-Key."""
from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class IdempotencyRecord(Base):
    """One (namespace, key, method+path); `status` stays null while the first request is still running."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("namespace", "key", "scope", name="uq_idempotency_namespace_key_scope"),
        Index("ix_idempotency_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(255))              # "POST /v1/batches"
    fingerprint: Mapped[str] = mapped_column(String(64))         # sha256 of the request's content
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[object] = mapped_column(UTCDateTime)
