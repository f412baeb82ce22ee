"""Objects: inline-text creation, listing arguments and the object representation."""
from marshmallow import Schema, fields, validate

from schemas.common import PageArgsSchema, name_field


class TextObjectCreateSchema(Schema):
    """JSON body of POST /v1/objects for inline text."""

    text = fields.Str(required=True, validate=validate.Length(min=1))
    filename = fields.Str(load_default="text.txt", validate=validate.Length(min=1, max=255))
    bucket = fields.Str(load_default="default", validate=name_field)
    metadata = fields.Dict(keys=fields.Str(), load_default=dict)


class ObjectFormSchema(Schema):
    """Form fields that may accompany multipart uploads."""

    bucket = fields.Str(load_default="default", validate=name_field)
    metadata = fields.Dict(keys=fields.Str(), load_default=dict)


class ObjectSchema(Schema):
    """One stored object."""

    object_id = fields.Str(required=True)
    filename = fields.Str(required=True)
    media_type = fields.Str(required=True)
    size_bytes = fields.Int(required=True)
    sha256 = fields.Str(required=True)
    bucket = fields.Str(required=True)
    metadata = fields.Dict()
    created_at = fields.DateTime(required=True)
    stored = fields.Bool(metadata={"description": "False once a `delete_originals` batch removed the file."})


class ObjectListSchema(Schema):
    """A page of objects."""

    objects = fields.List(fields.Nested(ObjectSchema), required=True)
    next_cursor = fields.Str(allow_none=True, required=True)


class ObjectCreatedSchema(Schema):
    """The objects a POST created."""

    objects = fields.List(fields.Nested(ObjectSchema), required=True)


class ObjectListArgsSchema(PageArgsSchema):
    """Query arguments of GET /v1/objects."""

    bucket = fields.Str(load_default=None, validate=name_field)
