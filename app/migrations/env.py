"""Alembic's entry point: migrate the database of the current Settings with the models' metadata."""
from alembic import context

from app.db import build_engine
from app.migrations import include_object
from app.models import Base
from app.models.base import UTCDateTime
from app.settings import get_settings


def _render_item(kind, obj, autogen_context):
    """Write UTCDateTime as the plain column type it stores, so revisions never import app code."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    """Run the migrations on one connection (SQLite ALTERs go through batch mode, which copies the table)."""
    engine = build_engine(context.config.attributes.get("url") or get_settings().database_url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                              render_item=_render_item, compare_type=True, include_object=include_object)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    finally:
        engine.dispose()


run_migrations()
