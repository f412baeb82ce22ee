"""Task status as read from Redis."""
from marshmallow import Schema, fields


class TaskStatusSchema(Schema):
    """GET /v1/tasks/{id}."""

    task_id = fields.Str(required=True)
    batch_id = fields.Str(required=True)
    status = fields.Str(required=True)
    progress = fields.Dict(allow_none=True, required=True)
    created_at = fields.Str(required=True)
    updated_at = fields.Str(required=True)
