"""The full-text index over chunk text, kept by the database itself in the transaction that writes vectors.

SQLite: an FTS5 table over `vectors.text` (external content, so the text is stored once) kept in step by
triggers, ranked with `bm25()`. PostgreSQL: a generated `tsvector` column with a GIN index. Either way a
vector write and its index rows commit or roll back together, and no code path can forget the index.
Created after `create_all` with IF NOT EXISTS, so it also lands on a database made before it existed.
"""
from sqlalchemy import event, text

from app.models.base import Base

FTS_TABLE = "vectors_fts"
TS_CONFIG = "english"   # stemming and stop words: "a" and "the" never match anything

_SQLITE = (
    # Every row is mirrored, image and audio (NULL text, no terms) too, so FTS5's own integrity check holds.
    # unicode61 folds case and diacritics like the hashing embedder's normalisation does.
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(text, content='vectors', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON vectors BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON vectors BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update AFTER UPDATE OF text ON vectors BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
)
_POSTGRESQL = (
    f"ALTER TABLE vectors ADD COLUMN IF NOT EXISTS lexemes tsvector "
    f"GENERATED ALWAYS AS (to_tsvector('{TS_CONFIG}', coalesce(text, ''))) STORED",
    "CREATE INDEX IF NOT EXISTS ix_vectors_lexemes ON vectors USING gin (lexemes)",
)


def create_lexical_index(target, connection, **_kw) -> None:
    """Create the index where missing; on SQLite fill it from rows written before it existed."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        for statement in _POSTGRESQL:
            connection.execute(text(statement))
    elif dialect == "sqlite":
        existed = connection.execute(text("SELECT 1 FROM sqlite_master WHERE name = :name"),
                                     {"name": FTS_TABLE}).first()
        for statement in _SQLITE:
            connection.execute(text(statement))
        if not existed:
            connection.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')"))


# After create_all (also when every table already existed), not after the table: older databases get it too.
event.listen(Base.metadata, "after_create", create_lexical_index)
