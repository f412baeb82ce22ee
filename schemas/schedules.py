"""Schedules: creation, change, the schedule representation and its run history."""
from marshmallow import Schema, fields, validate

from schemas.common import name_field

_cron = fields.Str(validate=validate.Length(min=1, max=100), metadata={
    "description": "Five fields in UTC (minute hour day-of-month month day-of-week) or @hourly/@daily/…",
    "example": "*/5 * * * *"})
_name = validate.Length(min=1, max=255)


class ScheduleCreateSchema(Schema):
    """Body of POST /v1/schedules."""

    name = fields.Str(required=True, validate=_name)
    cron = fields.Str(required=True, validate=_cron.validate, metadata=_cron.metadata)
    bucket = fields.Str(load_default="default", validate=name_field)
    collection_id = fields.Str(required=True, validate=name_field)
    enabled = fields.Bool(load_default=True)


class ScheduleUpdateSchema(Schema):
    """Body of PATCH /v1/schedules/{id}: only the fields given change."""

    name = fields.Str(validate=_name)
    cron = fields.Str(validate=_cron.validate, metadata=_cron.metadata)
    bucket = fields.Str(validate=name_field)
    collection_id = fields.Str(validate=name_field)
    enabled = fields.Bool()


class ScheduleSchema(Schema):
    """One schedule; `next_run_at` is null while it is disabled."""

    schedule_id = fields.Str(required=True)
    name = fields.Str(required=True)
    cron = fields.Str(required=True)
    bucket = fields.Str(required=True)
    collection_id = fields.Str(required=True)
    enabled = fields.Bool(required=True)
    next_run_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime()


class ScheduleListSchema(Schema):
    """A page of schedules, newest first."""

    schedules = fields.List(fields.Nested(ScheduleSchema), required=True)
    next_cursor = fields.Str(allow_none=True, required=True)


class ScheduleRunSchema(Schema):
    """One tick: the batch it created (null when nothing was new) or the error that stopped it."""

    run_at = fields.DateTime(required=True, metadata={"description": "The tick's time as the cron expression says."})
    recorded_at = fields.DateTime(metadata={"description": "When beat actually ran the tick."})
    batch_id = fields.Str(required=True, allow_none=True)
    objects = fields.Int(required=True)
    error = fields.Str(required=True, allow_none=True)


class ScheduleRunListSchema(Schema):
    """A schedule's runs, newest first."""

    runs = fields.List(fields.Nested(ScheduleRunSchema), required=True)
    next_cursor = fields.Str(allow_none=True, required=True)
