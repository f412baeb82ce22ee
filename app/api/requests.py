"""Reading request bodies: JSON or multipart form fields through a schema, and file parts as uploads."""
from flask import Request, request
from marshmallow import Schema, ValidationError, missing
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from app.errors import StreamedBodyTooLarge, ValidationFailed
from app.objects.catalog import Upload
from app.untrusted_json import MalformedJson, parse_json


class StreamedBodyLimit(LimitedStream):
    """A body of unknown length (chunked) read up to MAX_CONTENT_LENGTH: more after the limit is a 413.

    Werkzeug's own stream stops reading at the limit and hands back the first MAX_CONTENT_LENGTH bytes as if
    they were the whole body; one byte more is read to tell "exactly the limit" from "cut".
    """

    _ended = False

    def readinto(self, b) -> int | None:  # type: ignore[override]
        size = super().readinto(b)
        if self.is_exhausted and not self._ended:
            if self._stream.read(1):
                raise StreamedBodyTooLarge()
            self._ended = True
        return size

    def on_exhausted(self) -> None:
        if not self._ended:
            super().on_exhausted()


class BoundedRequest(Request):
    """Flask's request, with a chunked body over MAX_CONTENT_LENGTH refused instead of silently cut."""

    @cached_property
    def stream(self):
        limit = self.max_content_length
        if limit is not None and self.content_length is None and self.environ.get("wsgi.input_terminated"):
            return StreamedBodyLimit(self.environ["wsgi.input"], limit, is_max=True)
        return super().stream


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
    return parse_json(raw)  # depth, lone surrogates and syntax: a 400


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
        return parse_json(value, f"Form field '{name}'")
    except MalformedJson as exc:
        raise ValidationFailed(exc.message, {"fields": {name: [exc.message]}}) from None


def uploaded_files() -> list[Upload]:
    """The request's `file` parts as uploads (names are display-only; streams are read by storage)."""
    unexpected = [name for name in request.files if name != "file"]
    if unexpected:
        raise ValidationFailed("Files must be sent as parts named 'file'.", {"fields": {n: ["Unknown file part."] for n in unexpected}})
    return [Upload(f.filename or "upload", f.stream) for f in request.files.getlist("file")]
