"""Collections and search: the collection representation, the search request and its hits."""
from marshmallow import Schema, ValidationError, fields, validate, validates


class CollectionSchema(Schema):
    """One collection: what landed in it and the signature of its current vectors."""

    collection_id = fields.Str(required=True)
    documents = fields.Int(required=True, metadata={"description": "Distinct contents (sha256) with vectors."})
    vectors = fields.Int(required=True, metadata={"description": "Stored chunk vectors."})
    dimensions = fields.Int(required=True)
    index_signature = fields.Str(required=True, metadata={
        "description": "Opaque; changes whenever vectors of the collection are written or replaced."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime(required=True)


class CollectionListSchema(Schema):
    """The namespace's collections, by id."""

    collections = fields.List(fields.Nested(CollectionSchema), required=True)
    next_cursor = fields.Str(allow_none=True)


class SearchRequestSchema(Schema):
    """Body of POST /v1/collections/{id}/search."""

    query = fields.Str(required=True, validate=validate.Length(min=1, max=10_000))
    top_k = fields.Int(load_default=10, validate=validate.Range(min=1, max=100))

    @validates("query")
    def _has_text(self, value, data_key):
        """A query of only whitespace matches nothing: refuse it like an empty one."""
        if not value.strip():
            raise ValidationError("The query must contain text.")


class SearchHitSchema(Schema):
    """One matching chunk."""

    object_id = fields.Str(required=True)
    filename = fields.Str(required=True)
    chunk_index = fields.Int(required=True)
    score = fields.Float(required=True, metadata={"description": "Cosine similarity, -1..1."})
    text = fields.Str(allow_none=True, required=True, metadata={"description": "null for image and audio chunks."})


class SearchResultsSchema(Schema):
    """The best chunks, best first."""

    hits = fields.List(fields.Nested(SearchHitSchema), required=True)
