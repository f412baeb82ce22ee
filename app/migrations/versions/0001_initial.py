"""Initial schema: every table as the models defined it when migrations were introduced (issue 9).

Revision ID: 0001_initial
Revises:
Create Date: 2026-12-02 05:18:56.007608
"""
from alembic import op
import sqlalchemy as sa


revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table and index, parents before the tables that reference them."""
    op.create_table('api_keys',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_api_keys_namespace', 'api_keys', ['namespace'])

    op.create_table('batch_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('batch_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('announced_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('batch_id', 'type', name='uq_batch_events_batch_type'),
    sa.UniqueConstraint('event_id')
    )
    op.create_index('ix_batch_events_announced', 'batch_events', ['announced_at', 'id'])
    op.create_index('ix_batch_events_batch_id', 'batch_events', ['batch_id', 'id'])

    op.create_table('batches',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('collection_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('task_id', sa.String(length=40), nullable=True),
    sa.Column('force_overwrite', sa.Boolean(), nullable=False),
    sa.Column('include_processing_history', sa.Boolean(), nullable=False),
    sa.Column('delete_originals', sa.Boolean(), nullable=False),
    sa.Column('webhook_url', sa.Text(), nullable=True),
    sa.Column('webhook_secret', sa.String(length=128), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('submit_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parent_batch_id', sa.String(length=40), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('total_items', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_id')
    )
    op.create_index('ix_batches_ns_id', 'batches', ['namespace', 'id'])
    op.create_index('ix_batches_status', 'batches', ['status'])

    op.create_table('collections',
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('collection_id', sa.String(length=128), nullable=False),
    sa.Column('dimensions', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('namespace', 'collection_id')
    )
    op.create_table('idempotency_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('scope', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('body', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('namespace', 'key', 'scope', name='uq_idempotency_namespace_key_scope')
    )
    op.create_index('ix_idempotency_expires_at', 'idempotency_records', ['expires_at'])

    op.create_table('objects',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('bucket', sa.String(length=128), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_path', sa.String(length=255), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('original_deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_objects_namespace', 'objects', ['namespace'])
    op.create_index('ix_objects_ns_bucket_id', 'objects', ['namespace', 'bucket', 'id'])
    op.create_index('ix_objects_sha256', 'objects', ['sha256'])

    op.create_table('schedules',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('cron', sa.String(length=100), nullable=False),
    sa.Column('bucket', sa.String(length=128), nullable=False),
    sa.Column('collection_id', sa.String(length=128), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_schedules_due', 'schedules', ['enabled', 'next_run_at'])
    op.create_index('ix_schedules_ns_id', 'schedules', ['namespace', 'id'])

    op.create_table('vectors',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('collection_id', sa.String(length=128), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('object_id', sa.String(length=40), nullable=False),
    sa.Column('batch_id', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('chunk_index', sa.Integer(), nullable=False),
    sa.Column('page', sa.Integer(), nullable=True),
    sa.Column('modality', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('dimensions', sa.Integer(), nullable=False),
    sa.Column('embedding', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('namespace', 'collection_id', 'sha256', 'chunk_index', name='uq_vectors_content_chunk')
    )
    op.create_index('ix_vectors_object_id', 'vectors', ['object_id'])

    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=40), nullable=False),
    sa.Column('webhook_id', sa.String(length=40), nullable=True),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'target', 'attempt', name='uq_webhook_deliveries_attempt')
    )
    op.create_index('ix_webhook_deliveries_webhook', 'webhook_deliveries', ['webhook_id', 'id'])

    op.create_table('webhooks',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_webhooks_namespace', 'webhooks', ['namespace'])

    op.create_table('batch_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('chunks', sa.Integer(), nullable=True),
    sa.Column('dimensions', sa.Integer(), nullable=True),
    sa.Column('error_type', sa.String(length=32), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('processing_history', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('batch_id', 'object_id', name='uq_batch_items_batch_object')
    )
    op.create_index('ix_batch_items_batch_status', 'batch_items', ['batch_id', 'status'])

    op.create_table('schedule_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('schedule_id', sa.String(length=40), nullable=False),
    sa.Column('run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batch_id', sa.String(length=40), nullable=True),
    sa.Column('objects', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('schedule_id', 'run_at', name='uq_schedule_runs_tick')
    )
    op.create_index('ix_schedule_runs_schedule_id', 'schedule_runs', ['schedule_id'])


def downgrade() -> None:
    """Drop every table (their indexes go with them), children first."""
    op.drop_table('schedule_runs')
    op.drop_table('batch_items')
    op.drop_table('webhooks')
    op.drop_table('webhook_deliveries')
    op.drop_table('vectors')
    op.drop_table('schedules')
    op.drop_table('objects')
    op.drop_table('idempotency_records')
    op.drop_table('collections')
    op.drop_table('batches')
    op.drop_table('batch_events')
    op.drop_table('api_keys')
