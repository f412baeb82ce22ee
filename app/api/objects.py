"""Objects: upload files or inline text, read, list, delete."""
import io

from flask.views import MethodView

from app.api.auth import current_namespace, resolve_namespace
from app.api.blueprint import Blueprint
from app.api.idempotency import HEADER_DOC, idempotent
from app.api.requests import form_fields, is_multipart, json_body, multipart_doc, uploaded_files
from app.errors import ValidationFailed
from app.objects import catalog
from schemas.objects import (ObjectCreatedSchema, ObjectFormSchema, ObjectListArgsSchema, ObjectListSchema,
                             ObjectSchema, TextObjectCreateSchema)

blp = Blueprint("objects", __name__, url_prefix="/v1/objects", description="Files and inline texts to embed.")
blp.before_request(resolve_namespace)


@blp.route("")
class Objects(MethodView):
    """The namespace's objects."""

    @blp.arguments(ObjectListArgsSchema, location="query")
    @blp.response(200, ObjectListSchema)
    def get(self, args):
        """List objects, newest first."""
        rows, next_cursor = catalog.list_objects(current_namespace(), **args)
        return {"objects": rows, "next_cursor": next_cursor}

    @idempotent
    @blp.response(201, ObjectCreatedSchema)
    @blp.doc(parameters=[HEADER_DOC], requestBody={"content": {
        "application/json": {"schema": TextObjectCreateSchema},
        "multipart/form-data": multipart_doc(bucket="default: default", metadata="a JSON object"),
    }})
    def post(self):
        """Upload one or more files (multipart `file` parts) or one inline text (JSON)."""
        if is_multipart():
            fields = form_fields(ObjectFormSchema())
            uploads = uploaded_files()
            if not uploads:
                raise ValidationFailed("Send at least one part named 'file'.", {"fields": {"file": ["Missing."]}})
        else:
            fields = json_body(TextObjectCreateSchema())
            uploads = [catalog.Upload(fields.pop("filename"), io.BytesIO(fields.pop("text").encode("utf-8")))]
        return {"objects": catalog.create_objects(current_namespace(), uploads, **fields)}


@blp.route("/<string:object_id>")
class ObjectById(MethodView):
    """One object."""

    @blp.response(200, ObjectSchema)
    def get(self, object_id):
        """Get an object."""
        return catalog.get_object(current_namespace(), object_id)

    @blp.response(204)
    def delete(self, object_id):
        """Delete an object and its stored file (refused while a running batch needs it)."""
        catalog.delete_object(current_namespace(), object_id)
