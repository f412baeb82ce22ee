"""The limits in force, so clients can split their work under them (GET /v1/limits)."""
from marshmallow import Schema, fields

from app.api.auth import resolve_namespace
from app.api.blueprint import Blueprint
from app.settings import get_settings

blp = Blueprint("limits", __name__, url_prefix="/v1/limits", description="Limits a client must split its work under.")
blp.before_request(resolve_namespace)

# Contract field → setting; a setting this deployment does not have yet answers null (no limit).
FIELDS = {
    "max_batch_objects": "MAX_BATCH_OBJECTS", "max_batch_bytes": "MAX_BATCH_BYTES",
    "max_file_bytes": "MAX_FILE_BYTES", "max_content_length": "MAX_CONTENT_LENGTH",
    "max_multipart_parts": "MAX_MULTIPART_PARTS", "max_metadata_bytes": "MAX_METADATA_BYTES",
    "max_item_chunks": "MAX_ITEM_CHUNKS",
}


@blp.route("", methods=["GET"])
@blp.response(200, Schema.from_dict({name: fields.Int(allow_none=True, required=True) for name in FIELDS},
                                    name="Limits"))
def get_limits():
    """The request, file and batch limits in force."""
    settings = get_settings()
    return {name: getattr(settings, setting, None) for name, setting in FIELDS.items()}
