"""Batches: creation, submission, state change, and the Batch, results and errors representations."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.models.status import BatchStatus, ItemStatus  # the domain's vocabulary (a module of constants only)
from schemas.common import PageArgsSchema, UtcDateTime, name_field

BATCH_STATUSES = [status.value for status in BatchStatus]
ITEM_STATUSES = [status.value for status in ItemStatus]


class BatchCreateSchema(Schema):
    """Body (JSON, or multipart form fields) of POST /v1/batches."""

    collection_id = fields.Str(required=True, validate=name_field)
    batch_name = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=255))
    object_ids = fields.List(fields.Str(validate=validate.Length(min=1, max=64)), load_default=list,
                             validate=validate.Length(max=100_000))
    force_overwrite = fields.Bool(load_default=False)
    delete_originals = fields.Bool(load_default=False, metadata={
        "description": "Delete each object's stored file once its item SUCCEEDED or was SKIPPED."})
    webhook_url = fields.Str(load_default=None, allow_none=True,
                             validate=validate.URL(schemes={"http", "https"}, require_tld=False))
    webhook_secret = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=8, max=128))
    metadata = fields.Dict(keys=fields.Str(), load_default=dict)
    auto_submit = fields.Bool(load_default=False)
    submit_at = UtcDateTime(load_default=None, allow_none=True)
    bucket = fields.Str(load_default="default", validate=name_field)
    embedder = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=32), metadata={
        "description": "Creates the collection with this embedder; 409 if it exists with another."})

    @validates_schema
    def _one_submission_time(self, data, **kwargs):
        """`auto_submit` (now) and `submit_at` (later) contradict each other; silently picking one would surprise."""
        if data.get("auto_submit") and data.get("submit_at"):
            raise ValidationError("Use either auto_submit (submit now) or submit_at (submit later), not both.",
                                  "submit_at")


class AddObjectsSchema(Schema):
    """Body of POST /v1/batches/{id}/objects."""

    object_ids = fields.List(fields.Str(validate=validate.Length(min=1, max=64)), required=True,
                             validate=validate.Length(min=1, max=100_000))


ERROR_TYPES = ["format_error", "corrupted_file", "processing_error", "timeout"]


class RetrySchema(Schema):
    """Optional body of POST /v1/batches/{id}/retry: which items the new batch takes."""

    error_types = fields.List(fields.Str(validate=validate.OneOf(ERROR_TYPES)), load_default=None,
                              validate=validate.Length(min=1), metadata={
                                  "description": "Failed items with these error types. Default: every type except "
                                                 "the deterministic format_error and corrupted_file."})
    include_cancelled = fields.Bool(load_default=True)


class SubmitSchema(Schema):
    """Optional body of POST /v1/batches/{id}/submit."""

    include_processing_history = fields.Bool(load_default=False)


class SubmittedSchema(Schema):
    """Answer of a submit."""

    batch_id = fields.Str(required=True)
    task_id = fields.Str(required=True)
    status = fields.Str(required=True)


class StateChangeSchema(Schema):
    """Body of PUT /v1/batches/{id}/state."""

    state = fields.Str(required=True, validate=validate.OneOf(["CANCELLED"]))


class StateChangedSchema(Schema):
    """Answer of a state change."""

    batch_id = fields.Str(required=True)
    previous_state = fields.Str(required=True)
    current_state = fields.Str(required=True)


class StageSchema(Schema):
    """Which pipeline stage a batch is in."""

    name = fields.Str(required=True)
    index = fields.Int(required=True)
    total = fields.Int(required=True)


class ProgressSchema(Schema):
    """Live progress counters and rate."""

    processed = fields.Int(required=True)
    total = fields.Int(required=True)
    percent = fields.Float(required=True)
    succeeded = fields.Int(required=True)
    skipped = fields.Int(required=True)
    failed = fields.Int(required=True)
    cancelled = fields.Int(required=True)
    errors = fields.Int(required=True)
    items_per_second = fields.Float(allow_none=True, required=True)
    eta_seconds = fields.Int(allow_none=True, required=True)
    current_stage = fields.Nested(StageSchema, required=True)


class BatchSchema(Schema):
    """The Batch object."""

    batch_id = fields.Str(required=True)
    batch_name = fields.Str(allow_none=True)
    namespace = fields.Str(required=True)
    collection_id = fields.Str(required=True)
    status = fields.Str(required=True, validate=validate.OneOf(BATCH_STATUSES))
    task_id = fields.Str(allow_none=True)
    created_at = fields.DateTime(required=True)
    submitted_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    submit_at = fields.DateTime(allow_none=True)
    progress = fields.Nested(ProgressSchema, required=True)
    status_message = fields.Str(required=True)
    health = fields.Str(required=True, validate=validate.OneOf(["healthy", "degraded", "unhealthy"]))
    estimated_completion = fields.DateTime(allow_none=True)
    force_overwrite = fields.Bool()
    delete_originals = fields.Bool()
    webhook_url = fields.Str(allow_none=True)
    webhook_secret = fields.Str(allow_none=True, metadata={"description": "Only in the creation answer."})
    parent_batch_id = fields.Str(allow_none=True)
    metadata = fields.Dict()
    error = fields.Str(allow_none=True)


class BatchListSchema(Schema):
    """A page of batches, newest first."""

    batches = fields.List(fields.Nested(BatchSchema), required=True)
    next_cursor = fields.Str(allow_none=True, required=True)


class BatchListArgsSchema(PageArgsSchema):
    """Query arguments of GET /v1/batches."""

    status = fields.Str(load_default=None, validate=validate.OneOf(BATCH_STATUSES))
    collection_id = fields.Str(load_default=None, validate=name_field)


class HealthSchema(Schema):
    """GET /v1/batches/{id}/health."""

    batch_id = fields.Str(required=True)
    health = fields.Str(required=True)
    stalled_seconds = fields.Int(required=True)
    reasons = fields.List(fields.Str(), required=True)
