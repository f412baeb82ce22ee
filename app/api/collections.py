"""Collections: what landed where, and search over it."""
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api.auth import current_namespace, resolve_namespace
from app.collections import catalog, search
from app.collections.export import export_lines
from schemas.collections import (CollectionCreateSchema, CollectionListSchema, CollectionSchema, SearchRequestSchema,
                                 SearchResultsSchema)
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

    @blp.arguments(CollectionCreateSchema)
    @blp.response(201, CollectionSchema)
    def post(self, args):
        """Create an empty collection with its embedder (default hashing-384); an existing id is 409."""
        return catalog.create_collection(current_namespace(), args["collection_id"], args["embedder"])


@blp.route("/<string:collection_id>")
class CollectionById(MethodView):
    """One collection."""

    @blp.response(200, CollectionSchema)
    def get(self, collection_id):
        """Get a collection's embedder, documents, vectors, dimensions and index signature."""
        return catalog.get_collection(current_namespace(), collection_id)

    @blp.response(204)
    def delete(self, collection_id):
        """Delete a collection and its vectors; 409 while a queued or processing batch writes to it."""
        catalog.delete_collection(current_namespace(), collection_id)


@blp.route("/<string:collection_id>/export.jsonl", methods=["GET"])
@blp.doc(responses={"200": {"description": "One JSON line per chunk: object_id, filename, sha256, chunk_index, "
                                           "page, modality, text, vector.",
                            "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}})
def export_collection(collection_id):
    """Stream every chunk of the collection with its vector, one JSON object per line."""
    return Response(export_lines(current_namespace(), collection_id), mimetype="application/x-ndjson")


@blp.route("/<string:collection_id>/search", methods=["POST"])
@blp.arguments(SearchRequestSchema)
@blp.response(200, SearchResultsSchema)
def search_collection(args, collection_id):
    """The top_k chunks most similar (cosine) to a text query, best first; never stale after a write."""
    return {"hits": search.search(current_namespace(), collection_id, args["query"], args["top_k"])}
