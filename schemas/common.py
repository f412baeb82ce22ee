"""Shapes shared by every resource: the error envelope, pagination arguments, identifiers."""
from marshmallow import Schema, fields, validate

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
