"""The limits in force, so clients can split their work before they are refused."""
from flask_smorest import Blueprint

from app.api.auth import resolve_namespace
from app.settings import get_settings
from schemas.limits import LimitsSchema

blp = Blueprint("limits", __name__, url_prefix="/v1/limits", description="Size limits in force.")
blp.before_request(resolve_namespace)


@blp.route("", methods=["GET"])
@blp.response(200, LimitsSchema)
def get_limits():
    """The size limits in force: batch, file, body, multipart parts, metadata and per-item budgets."""
    settings = get_settings()
    return {name.lower(): getattr(settings, name) for name in (
        "MAX_BATCH_OBJECTS", "MAX_BATCH_BYTES", "MAX_FILE_BYTES", "MAX_CONTENT_LENGTH", "MAX_MULTIPART_PARTS",
        "MAX_METADATA_BYTES", "MAX_ITEM_CHUNKS", "MAX_ITEM_CHARS", "MAX_IMAGE_PIXELS")}
