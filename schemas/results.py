"""Per-item results and the errors report of a batch."""
from marshmallow import Schema, fields, validate

from schemas.batches import ITEM_STATUSES
from schemas.common import PageArgsSchema


class ItemErrorSchema(Schema):
    """Why one item failed."""

    type = fields.Str(required=True, validate=validate.OneOf(
        ["format_error", "corrupted_file", "processing_error", "timeout"]))
    message = fields.Str(allow_none=True, required=True)


class StageRecordSchema(Schema):
    """One pipeline stage of one attempt."""

    attempt = fields.Int()
    name = fields.Str(required=True)
    duration_ms = fields.Float(required=True)
    outcome = fields.Str(required=True)


class ItemResultSchema(Schema):
    """One item's outcome."""

    object_id = fields.Str(required=True)
    filename = fields.Str(required=True)
    media_type = fields.Str(required=True)
    status = fields.Str(required=True, validate=validate.OneOf(ITEM_STATUSES))
    chunks = fields.Int(allow_none=True, required=True)
    dimensions = fields.Int(allow_none=True, required=True)
    attempts = fields.Int(required=True)
    processing_history = fields.List(fields.Nested(StageRecordSchema), required=True)
    error = fields.Nested(ItemErrorSchema, allow_none=True, required=True)


class BatchSummarySchema(Schema):
    """Counts over the whole batch."""

    batch_id = fields.Str(required=True)
    status = fields.Str(required=True)
    total_items = fields.Int(required=True)
    successful = fields.Int(required=True)
    skipped = fields.Int(required=True)
    failed = fields.Int(required=True)
    cancelled = fields.Int(required=True)


class ResultsSchema(Schema):
    """GET /v1/batches/{id}/results."""

    batch_summary = fields.Nested(BatchSummarySchema, required=True)
    results = fields.List(fields.Nested(ItemResultSchema), required=True)
    next_cursor = fields.Str(allow_none=True, required=True)


class ResultsArgsSchema(PageArgsSchema):
    """Query arguments of the results listing."""

    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))
    status = fields.Str(load_default=None, validate=validate.OneOf(ITEM_STATUSES))


class ErrorEntrySchema(Schema):
    """One failed item in the errors report."""

    object_id = fields.Str(required=True)
    filename = fields.Str(required=True)
    message = fields.Str(allow_none=True, required=True)


class ErrorsReportSchema(Schema):
    """GET /v1/batches/{id}/errors."""

    batch_id = fields.Str(required=True)
    total_errors = fields.Int(required=True)
    by_type = fields.Dict(keys=fields.Str(), values=fields.List(fields.Nested(ErrorEntrySchema)), required=True)
