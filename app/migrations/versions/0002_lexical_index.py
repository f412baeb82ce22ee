"""Full-text index over chunk text, maintained by the database in the transaction that writes vectors.

SQLite: an FTS5 table `vectors_fts` over `vectors.text` (external content: the text is stored once) kept in
step by triggers, mirroring every row (image and audio rows have NULL text and no terms), ranked with bm25().
PostgreSQL: a generated column `vectors.lexemes` (to_tsvector('english', text)) with a GIN index.
Neither is in the models (they are dialect-specific); app.migrations.include_object keeps autogenerate
from proposing to drop them. A later batch-mode ALTER of `vectors` on SQLite copies the table and so
drops its triggers: such a revision must run `create_sqlite_index` again.

Revision ID: 0002_lexical_index
Revises: 0001_initial
Create Date: 2026-12-02 05:55:00
"""
from alembic import op

revision = '0002_lexical_index'
down_revision = '0001_initial'
branch_labels = None
depends_on = None

SQLITE = (
    # unicode61 folds case and diacritics like the hashing embedder's normalisation does.
    "CREATE VIRTUAL TABLE IF NOT EXISTS vectors_fts USING fts5(text, content='vectors', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS vectors_fts_insert AFTER INSERT ON vectors BEGIN "
    "INSERT INTO vectors_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS vectors_fts_delete AFTER DELETE ON vectors BEGIN "
    "INSERT INTO vectors_fts(vectors_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS vectors_fts_update AFTER UPDATE OF text ON vectors BEGIN "
    "INSERT INTO vectors_fts(vectors_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO vectors_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO vectors_fts(vectors_fts) VALUES ('rebuild')",  # rows written before this revision
)
POSTGRESQL = (
    "ALTER TABLE vectors ADD COLUMN IF NOT EXISTS lexemes tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', coalesce(text, ''))) STORED",
    "CREATE INDEX IF NOT EXISTS ix_vectors_lexemes ON vectors USING gin (lexemes)",
)


def create_sqlite_index() -> None:
    """The FTS5 table and its triggers, filled from the existing rows."""
    for statement in SQLITE:
        op.execute(statement)


def upgrade() -> None:
    """Add the dialect's full-text index (existing rows are indexed as part of the upgrade)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        create_sqlite_index()
    elif dialect == "postgresql":
        for statement in POSTGRESQL:
            op.execute(statement)


def downgrade() -> None:
    """Drop the full-text index; the vectors and their text stay."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS vectors_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS vectors_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_vectors_lexemes")
        op.execute("ALTER TABLE vectors DROP COLUMN IF EXISTS lexemes")
