"""Collections: what landed where, and search over it."""
from flask import Response
from flask.views import MethodView

from app.api.auth import current_namespace, resolve_namespace
from app.api.blueprint import Blueprint
from app.api.requests import form_fields, is_multipart, json_body, multipart_doc, uploaded_files
from app.collections import catalog, search
from app.collections.export import export_lines
from app.settings import get_settings
from app.errors import PayloadTooLarge, ValidationFailed
from schemas.collections import (CollectionCreateSchema, CollectionListSchema, CollectionSchema,
                                 ExampleSearchFormSchema, SearchRequestSchema, SearchResultsSchema)
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


def _example_bytes() -> bytes:
    """The one `file` part of a search by example, read within the per-file limit."""
    uploads = uploaded_files()
    if len(uploads) != 1:
        raise ValidationFailed("Search by example takes exactly one 'file' part.",
                               {"fields": {"file": [f"Expected one file, got {len(uploads)}."]}})
    limit = get_settings().MAX_FILE_BYTES
    data = uploads[0].stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The example file is over the {limit}-byte limit.", {"limit": limit})
    return data


@blp.route("/<string:collection_id>/search", methods=["POST"])
@blp.response(200, SearchResultsSchema)
@blp.doc(requestBody={"content": {
    "application/json": {"schema": SearchRequestSchema},
    "multipart/form-data": multipart_doc(top_k="1-100, default 10"),
}})
def search_collection(collection_id):
    """Search a collection: a text query (hybrid lexical + vector by default) or an example image or WAV file.

    A text query answers from text chunks unless `modalities` asks for more; an example file (multipart
    `file`) finds the nearest items of its own modality by cosine similarity (mode `vector`).
    """
    if is_multipart():
        args = form_fields(ExampleSearchFormSchema())
        return search.search_by_example(current_namespace(), collection_id, _example_bytes(), args["top_k"])
    args = json_body(SearchRequestSchema())
    return search.search(current_namespace(), collection_id, args["query"], args["top_k"], args["mode"],
                         args["modalities"])
