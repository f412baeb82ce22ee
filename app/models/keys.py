"""API keys: a visible public id, the namespace it acts in, and only a hash of its secret."""
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class ApiKey(Base):
    """One key; the plaintext `bk_<id>_<secret>` is shown once at creation and never stored."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_namespace", "namespace"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)           # `bk_` + 8 characters
    namespace: Mapped[str] = mapped_column(String(64))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
