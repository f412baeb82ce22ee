"""Collections: what landed where, and search over it."""
from flask.views import MethodView

from app.api.auth import current_namespace, resolve_namespace
from app.api.blueprint import Blueprint
from app.collections import catalog, search
from schemas.collections import CollectionListSchema, CollectionSchema, SearchRequestSchema, SearchResultsSchema
from schemas.common import PageArgsSchema

blp = Blueprint("collections", __name__, url_prefix="/v1/collections",
                description="Collections of vectors (created on first use) and similarity search.")
blp.before_request(resolve_namespace)


@blp.route("")
class Collections(MethodView):
    """The namespace's collections."""

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, CollectionListSchema)
    def get(self, args):
        """List collections by id, with their documents, vectors, dimensions and index signature."""
        rows, next_cursor = catalog.list_collections(current_namespace(), **args)
        return {"collections": rows, "next_cursor": next_cursor}


@blp.route("/<string:collection_id>", methods=["GET"])
@blp.response(200, CollectionSchema)
def get_collection(collection_id):
    """Get a collection's documents, vectors, dimensions and index signature."""
    return catalog.get_collection(current_namespace(), collection_id)


@blp.route("/<string:collection_id>/search", methods=["POST"])
@blp.arguments(SearchRequestSchema)
@blp.response(200, SearchResultsSchema)
def search_collection(args, collection_id):
    """The top_k chunks most similar (cosine) to a text query, best first; never stale after a write."""
    return {"hits": search.search(current_namespace(), collection_id, args["query"], args["top_k"])}
