"""Embedders: which ones this deployment can use for new collections."""
from flask_smorest import Blueprint

from app.api.auth import resolve_namespace
from app.collections.embedders import list_embedders
from schemas.collections import EmbedderListSchema

blp = Blueprint("embedders", __name__, url_prefix="/v1/embedders",
                description="The embedders a collection can be created with.")
blp.before_request(resolve_namespace)


@blp.route("", methods=["GET"])
@blp.response(200, EmbedderListSchema)
def get_embedders():
    """List embedders: name, dimensions, modalities, whether installed here, and their Celery queue."""
    return {"embedders": list_embedders()}
