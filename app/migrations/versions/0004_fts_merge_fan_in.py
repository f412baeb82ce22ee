"""SQLite's full-text index merges 16 segments at a time, not 4 (issue 11: ingest cost of the index).

Each write transaction flushes its terms into a new FTS5 segment, and FTS5 merges segments as they
accumulate: with `automerge` 4 every term is rewritten about log4(segments) times, with 16 (the largest
value SQLite documents) about half as often. benchmarks/bench_ingest_index.py, 21,600 chunks: the index's
store CPU fell by 26%; bench_search_quality's query latency at 100,000 chunks did not measurably change
(up to 16 segments a level to read instead of 4). `crisismerge` 64 leaves the merging to the incremental
automerge (its default, 16, would merge a level at once as it fills).
The settings are stored in the index (its `_config` table); PostgreSQL is unchanged.

Revision ID: 0004_fts_merge_fan_in
Revises: 0003_collection_embedder
Create Date: 2026-12-02 14:20:00
"""
from alembic import op

revision = '0004_fts_merge_fan_in'
down_revision = '0003_collection_embedder'
branch_labels = None
depends_on = None


def _configure(automerge: int, crisismerge: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"INSERT INTO vectors_fts(vectors_fts, rank) VALUES ('automerge', {automerge})")
        op.execute(f"INSERT INTO vectors_fts(vectors_fts, rank) VALUES ('crisismerge', {crisismerge})")


def upgrade() -> None:
    """Merge 16 segments at a time."""
    _configure(16, 64)


def downgrade() -> None:
    """FTS5's defaults."""
    _configure(4, 16)
