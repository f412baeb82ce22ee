"""The limits in force (GET /v1/limits)."""
from marshmallow import Schema, fields


class LimitsSchema(Schema):
    """Every size limit a client needs to split its work; each is named after its setting."""

    max_batch_objects = fields.Int(required=True, metadata={"description": "MAX_BATCH_OBJECTS"})
    max_batch_bytes = fields.Int(required=True, metadata={"description": "MAX_BATCH_BYTES"})
    max_file_bytes = fields.Int(required=True, metadata={"description": "MAX_FILE_BYTES"})
    max_content_length = fields.Int(required=True, metadata={"description": "MAX_CONTENT_LENGTH (a request body)"})
    max_multipart_parts = fields.Int(required=True, metadata={"description": "MAX_MULTIPART_PARTS"})
    max_metadata_bytes = fields.Int(required=True, metadata={"description": "MAX_METADATA_BYTES (compact JSON)"})
    max_item_chunks = fields.Int(required=True, metadata={"description": "MAX_ITEM_CHUNKS (vectors of one file)"})
    max_item_chars = fields.Int(required=True, metadata={"description": "MAX_ITEM_CHARS (text of one file)"})
    max_image_pixels = fields.Int(required=True, metadata={"description": "MAX_IMAGE_PIXELS (decoded pixels)"})
