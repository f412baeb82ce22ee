"""Content extractors: sniff a file's media type from its bytes, then decode, chunk and embed it.

Pure functions over bytes returning plain values; no Flask, Celery or
database imports, so workers, the API and tests can all call them directly.
"""
from app.extractors.base import (Budget, BudgetExceeded, Chunk, CorruptedFileError, Extraction, ExtractionError,
                                 FormatError, StageRecord)
from app.extractors.registry import extract, sniff_media_type
from app.extractors.text_embedding import embed_text, embed_texts

__all__ = [
    "Budget",
    "BudgetExceeded",
    "Chunk",
    "CorruptedFileError",
    "Extraction",
    "ExtractionError",
    "FormatError",
    "StageRecord",
    "embed_text",
    "embed_texts",
    "extract",
    "sniff_media_type",
]
