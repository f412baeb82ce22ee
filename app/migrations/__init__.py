"""Alembic schema migrations: upgrade, downgrade, new revisions, and the check that refuses a database behind the code."""
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

_HERE = Path(__file__).resolve().parent


class SchemaOutOfDate(RuntimeError):
    """The database is not at the revision this code expects; the message names the command to run."""


def include_object(obj, name, kind, reflected, compare_to) -> bool:
    """Autogenerate's filter: the full-text index of revision 0002 is not in the models, and stays."""
    if kind == "table" and reflected and compare_to is None and (name or "").startswith("vectors_fts"):
        return False
    if reflected and compare_to is None and (kind, name) in {("column", "lexemes"), ("index", "ix_vectors_lexemes")}:
        return False
    return True


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration without an alembic.ini: the scripts live here; the database is `url` or Settings'."""
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["url"] = url
    return config


def upgrade(revision: str = "head", url: str | None = None) -> None:
    """Bring the database up to `revision` (every table, from an empty database)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(revision: str, url: str | None = None) -> None:
    """Take the database back to `revision` ("base" drops every table)."""
    command.downgrade(alembic_config(url), revision)


def new_revision(message: str, autogenerate: bool = True) -> None:
    """Write a new revision file; autogenerate compares the models with the (upgraded) database."""
    command.revision(alembic_config(), message=message, autogenerate=autogenerate)


def heads() -> set[str]:
    """The revisions this code expects the database to be at."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection) -> set[str]:
    """The revisions the database says it is at (empty for a database never migrated)."""
    return set(MigrationContext.configure(connection).get_current_heads())


def ensure_current(engine) -> None:
    """Refuse to run against a database whose schema is not the one this code was written for."""
    with engine.connect() as connection:
        found = current_revisions(connection)
    expected = heads()
    if found == expected:
        return
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if found - known:
        raise SchemaOutOfDate(
            f"The database is at revision {', '.join(sorted(found))}, which this code does not know: "
            "it was migrated by newer code. Deploy that code, or run `batchery db downgrade` with it first.")
    at = ", ".join(sorted(found)) or "no revision (empty or created before migrations)"
    raise SchemaOutOfDate(f"The database schema is behind this code (database: {at}; code: "
                          f"{', '.join(sorted(expected))}). Run `batchery db upgrade` first.")
