"""Shapes shared by every resource: the error envelope, pagination arguments, identifiers."""
from datetime import timezone

from marshmallow import Schema, ValidationError, fields, validate

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
name_field = validate.Regexp(NAME_PATTERN, error="Use 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit.")


class ErrorDetailSchema(Schema):
    """The body of every error."""

    type = fields.Str(required=True, metadata={"example": "validation_error"})
    message = fields.Str(required=True)
    details = fields.Dict(required=True)


class ErrorSchema(Schema):
    """The one error envelope: {"error": {"type", "message", "details"}}."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class PageArgsSchema(Schema):
    """Cursor pagination query arguments."""

    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.Str(load_default=None, validate=validate.Length(max=512))


class UtcDateTime(fields.AwareDateTime):
    """An ISO 8601 time with an offset (UTC when none), loaded as UTC; one that falls outside years 1-9999 in UTC
    (e.g. 9999-12-31T23:59:59-14:00) is a validation error, not an overflow later."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=timezone.utc, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError:
            raise ValidationError("The time is outside years 1-9999 once converted to UTC.") from None
