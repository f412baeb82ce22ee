"""Collections and search: the collection representation, the search request and its hits."""
from marshmallow import Schema, ValidationError, fields, validate, validates

from schemas.common import name_field


class CollectionSchema(Schema):
    """One collection: what landed in it and the signature of its current vectors."""

    collection_id = fields.Str(required=True)
    embedder = fields.Str(required=True, metadata={"description": "Fixed at creation; every vector comes from it."})
    documents = fields.Int(required=True, metadata={"description": "Distinct contents (sha256) with vectors."})
    vectors = fields.Int(required=True, metadata={"description": "Stored chunk vectors."})
    dimensions = fields.Int(required=True)
    index_signature = fields.Str(required=True, metadata={
        "description": "Opaque; changes whenever vectors of the collection are written or replaced."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime(required=True)


class CollectionCreateSchema(Schema):
    """Body of POST /v1/collections."""

    collection_id = fields.Str(required=True, validate=name_field)
    embedder = fields.Str(load_default="hashing-384", validate=validate.Length(min=1, max=32),
                          metadata={"description": "An embedder name from GET /v1/embedders."})


class EmbedderSchema(Schema):
    """One embedder and whether this deployment can run it."""

    name = fields.Str(required=True)
    dimensions = fields.Int(required=True)
    modalities = fields.List(fields.Str(), required=True, metadata={"description": "What it embeds."})
    available = fields.Bool(required=True, metadata={"description": "Installed in this deployment."})
    queue = fields.Str(required=True, metadata={"description": "The Celery queue whose workers embed with it."})


class EmbedderListSchema(Schema):
    """Every embedder Batchery knows."""

    embedders = fields.List(fields.Nested(EmbedderSchema), required=True)


class CollectionListSchema(Schema):
    """The namespace's collections, by id."""

    collections = fields.List(fields.Nested(CollectionSchema), required=True)
    next_cursor = fields.Str(allow_none=True)


MODES = ("hybrid", "lexical", "vector")
MODALITIES = ("text", "image", "audio")


class SearchRequestSchema(Schema):
    """Body of POST /v1/collections/{id}/search (JSON)."""

    query = fields.Str(required=True, validate=validate.Length(min=1, max=10_000))
    top_k = fields.Int(load_default=10, validate=validate.Range(min=1, max=100))
    mode = fields.Str(load_default="hybrid", validate=validate.OneOf(MODES), metadata={
        "description": "hybrid: lexical and vector rankings fused; lexical: full-text only; vector: cosine only."})
    modalities = fields.List(fields.Str(validate=validate.OneOf(MODALITIES)), load_default=["text"],
                             validate=validate.Length(min=1, max=len(MODALITIES)),
                             metadata={"description": "Which chunks may answer; images and audio only when asked."})

    @validates("query")
    def _has_text(self, value, data_key):
        """A query of only whitespace matches nothing: refuse it like an empty one."""
        if not value.strip():
            raise ValidationError("The query must contain text.")


class ExampleSearchFormSchema(Schema):
    """Form fields of a multipart search by example (the `file` part is the example)."""

    top_k = fields.Int(load_default=10, validate=validate.Range(min=1, max=100))


class SearchHitSchema(Schema):
    """One matching chunk."""

    object_id = fields.Str(required=True)
    filename = fields.Str(required=True)
    chunk_index = fields.Int(required=True)
    page = fields.Int(allow_none=True, required=True, metadata={"description": "PDF page (1-based), else null."})
    modality = fields.Str(required=True, metadata={"description": "text, image or audio."})
    score = fields.Float(required=True, metadata={
        "description": "hybrid: fused rank score 0..1 (1 = first by both rankings, <= 0.5 = only one found it); "
                       "vector: cosine similarity -1..1; lexical: full-text relevance >= 0 (BM25 on SQLite)."})
    text = fields.Str(allow_none=True, required=True, metadata={"description": "null for image and audio chunks."})


class SearchResultsSchema(Schema):
    """The best chunks, best first, and the mode that ranked them."""

    mode = fields.Str(required=True)
    hits = fields.List(fields.Nested(SearchHitSchema), required=True)
