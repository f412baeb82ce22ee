"""Each collection names its embedder (issue 11): existing collections are hashing-384, as their vectors are.

Revision ID: 0003_collection_embedder
Revises: 0002_lexical_index
Create Date: 2026-12-02 05:55:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_collection_embedder'
down_revision = '0002_lexical_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add collections.embedder, filled with the embedder every existing vector came from."""
    op.add_column('collections', sa.Column('embedder', sa.String(length=32), nullable=False,
                                           server_default='hashing-384'))


def downgrade() -> None:
    """Drop the column (batch mode: SQLite rebuilds the table)."""
    with op.batch_alter_table('collections') as batch:
        batch.drop_column('embedder')
