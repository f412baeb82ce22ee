"""Recurring submissions (a cron expression over a bucket) and the record of every tick they ran."""
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, new_id, utcnow


class Schedule(Base):
    """Submit a bucket's new objects to a collection on every cron tick; `next_run_at` is the next due tick."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_ns_id", "namespace", "id"),
                      Index("ix_schedules_due", "enabled", "next_run_at"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("sch"))
    namespace: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    cron: Mapped[str] = mapped_column(String(100))
    bucket: Mapped[str] = mapped_column(String(128))
    collection_id: Mapped[str] = mapped_column(String(128))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)  # None while disabled
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ScheduleRun(Base):
    """One tick of a schedule; (schedule, run_at) is unique, so a tick can never run twice."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "run_at", name="uq_schedule_runs_tick"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[str] = mapped_column(String(40), ForeignKey("schedules.id", ondelete="CASCADE"), index=True)
    run_at: Mapped[object] = mapped_column(UTCDateTime)          # the tick's time, as the cron expression says
    recorded_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)  # when beat actually ran it
    batch_id: Mapped[str | None] = mapped_column(String(40), nullable=True)   # None: nothing new
    objects: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
