"""Reading request bodies: JSON or multipart form fields through a schema, and file parts as uploads."""
import json

from flask import request
from marshmallow import Schema, ValidationError, missing

from app.errors import ValidationFailed
from app.objects.catalog import Upload


def multipart_doc(required=("file",), **fields: str) -> dict:
    """OpenAPI for a multipart body of `file` parts plus string form fields (name → description)."""
    properties = {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}}
    properties.update({name: {"type": "string", "description": text} for name, text in fields.items()})
    return {"schema": {"type": "object", "properties": properties, "required": list(required),
                       "additionalProperties": False}}


def is_multipart() -> bool:
    """True for multipart/form-data requests."""
    return request.mimetype == "multipart/form-data"


def load_with(schema: Schema, data) -> dict:
    """Validate plain data; every problem becomes a 422 naming the fields at fault."""
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.", {"fields": {"_schema": ["Expected an object."]}})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed("The request is not valid; see details.fields.", {"fields": exc.messages}) from None


def read_json():
    """The body parsed as JSON whatever its Content-Type, or webargs' `missing` when empty; malformed is a 400."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return missing
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        error = ValidationFailed(f"Malformed JSON: {exc}")
        error.status = 400
        raise error from None


def json_body(schema: Schema) -> dict:
    """The JSON body of an endpoint that also takes multipart, loaded through a schema."""
    data = read_json()
    if data is missing:
        raise ValidationFailed("A JSON body is required.", {"fields": {"_schema": ["Missing body."]}})
    return load_with(schema, data)


def form_fields(schema: Schema, list_fields=(), json_fields=("metadata",)) -> dict:
    """Multipart form fields loaded through a schema; JSON-valued fields arrive as strings."""
    if "file" in request.form:  # a `file` part without a usable filename arrives as a plain field
        raise ValidationFailed("A 'file' part must be a file upload with a filename in its Content-Disposition.",
                               {"fields": {"file": ["Not a file upload."]}})
    data = {}
    for name in request.form:
        values = request.form.getlist(name)
        if name in list_fields:
            if len(values) == 1 and values[0].lstrip().startswith("["):
                data[name] = _parse_json_field(name, values[0])
            else:
                data[name] = [v for value in values for v in value.split(",") if v.strip()]
        elif name in json_fields:
            data[name] = _parse_json_field(name, values[-1])
        else:
            data[name] = values[-1]
    return load_with(schema, data)


def _parse_json_field(name: str, value: str):
    """A form field that carries JSON."""
    try:
        return json.loads(value)
    except ValueError:
        raise ValidationFailed(f"Form field '{name}' must be JSON.", {"fields": {name: ["Not valid JSON."]}}) from None


def uploaded_files() -> list[Upload]:
    """The request's `file` parts as uploads (names are display-only; streams are read by storage)."""
    unexpected = [name for name in request.files if name != "file"]
    if unexpected:
        raise ValidationFailed("Files must be sent as parts named 'file'.", {"fields": {n: ["Unknown file part."] for n in unexpected}})
    return [Upload(f.filename or "upload", f.stream) for f in request.files.getlist("file")]

