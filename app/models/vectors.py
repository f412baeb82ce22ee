"""Collections and the chunk vectors that land in them."""
from sqlalchemy import Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class Collection(Base):
    """A namespace's named vector space, created explicitly or on first use, with a fixed embedder and dimension."""

    __tablename__ = "collections"

    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    collection_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    dimensions: Mapped[int] = mapped_column(Integer)
    # Fixed at creation: every vector in the collection comes from this embedder (app/collections/embedders.py).
    embedder: Mapped[str] = mapped_column(String(32), default="hashing-384", server_default="hashing-384")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped in the same transaction as every vector write: the source of `index_signature`.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)


class Vector(Base):
    """One chunk's embedding; keyed by content hash so the same bytes never land twice."""

    __tablename__ = "vectors"
    __table_args__ = (
        UniqueConstraint("namespace", "collection_id", "sha256", "chunk_index", name="uq_vectors_content_chunk"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(64))
    collection_id: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(40), index=True)
    batch_id: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    chunk_index: Mapped[int] = mapped_column(Integer)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)
    modality: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    dimensions: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)   # float32, little endian
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
