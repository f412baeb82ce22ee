"""Content sniffing and the media type -> pipeline registry.

The media type comes from the bytes only (magic numbers, then whether and how
the content decodes as text); a file name or a client's Content-Type is never
consulted, so a renamed executable cannot pass as a PDF.
"""
from __future__ import annotations

from app.extractors import audio, documents, images, pdf
from app.extractors.base import (
    Budget,
    Chunk,
    CorruptedFileError,
    Extraction,
    ExtractionError,
    FormatError,
    Pipeline,
    StageTimer,
)
from app.extractors.chunking import TextPiece, chunk_sections
from app.extractors.text_embedding import embed_texts

OCTET_STREAM = "application/octet-stream"

# Recognised so errors can name them; only some have a pipeline below.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x7fELF", "application/x-executable"),
    (b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xce\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\x00asm", "application/wasm"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"SQLite format 3\x00", "application/vnd.sqlite3"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
)
_RIFF_FORMS = {b"WAVE": "audio/wav", b"WEBP": "image/webp", b"AVI ": "video/x-msvideo"}
_TEXT_TYPES = ("text/plain", "text/markdown", "text/html", "text/csv", "application/json")


def _binary_magic(data: bytes) -> str | None:
    """Media type announced by a magic number, if any."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] in _RIFF_FORMS:
        return _RIFF_FORMS[data[8:12]]
    # Two-letter and three-letter magics also start ordinary words, so these
    # also need the binary structure that follows them.
    if data[:2] == b"MZ" and len(data) >= 64 and b"\x00" in data[2:64]:
        return "application/vnd.microsoft.portable-executable"
    if data[:3] == b"ID3" and data[3:4] in (b"\x02", b"\x03", b"\x04") and data[4:5] == b"\x00":
        return "audio/mpeg"
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "application/pdf"
    return None


def sniff_media_type(data: bytes) -> str:
    """Media type from content; 'application/octet-stream' when unknown."""
    media_type = _binary_magic(data)
    if media_type is not None:
        return media_type
    text_type = documents.sniff_text(data)
    return text_type if text_type is not None else OCTET_STREAM


def _as_chunks(pieces: list[TextPiece], vectors) -> list[Chunk]:
    """One chunk per document piece, with its row of `vectors`."""
    return [Chunk(i, vectors[i], piece.text, piece.page) for i, piece in enumerate(pieces)]


def _embed_documents(pieces: list[TextPiece], dimensions: int) -> list[Chunk]:
    """Chunks of a document (text or PDF pages) with one batched text embedding for all chunks of a document."""
    return _as_chunks(pieces, embed_texts([piece.text for piece in pieces], dimensions))


def _single(decoded: object) -> list[object]:
    """Images are embedded whole: one chunk."""
    return [decoded]


_DOCUMENT = Pipeline("text", documents.decode_document, chunk_sections, _embed_documents)
PIPELINES: dict[str, Pipeline] = {
    **{media_type: _DOCUMENT for media_type in _TEXT_TYPES},
    "application/pdf": Pipeline("text", pdf.decode_pdf, chunk_sections, _embed_documents),
    "image/png": Pipeline("image", images.decode_image, _single, images.embed_images),
    "image/jpeg": Pipeline("image", images.decode_image, _single, images.embed_images),
    "audio/wav": Pipeline("audio", audio.decode_wav, audio.chunk_signal, audio.embed_audio),
}


def extract(data: bytes, dimensions: int = 384, text_embedder=None, embedder_name: str = "",
            budget: Budget | None = None) -> Extraction:
    """Decode, chunk and embed a file's bytes; raises FormatError or CorruptedFileError.

    `text_embedder` (texts → (n, dimensions) array) replaces the built-in text embedding; a
    collection with one embeds text only, so other media are a FormatError naming `embedder_name`.
    `budget` (default: from the settings) bounds the characters, chunks and image pixels one file may
    produce; a file over it fails with BudgetExceeded (format_error) before the costly work.

    Sniffing is part of the "decode" stage. Any unexpected exception while
    decoding a known type is wrapped as CorruptedFileError; one in "chunk" or
    "embed" as a plain ExtractionError (processing_error). Every error carries
    the stage records so far, the failing one with outcome "error", and the
    sniffed media type (or None) as `media_type`.
    """
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
        raise ValueError(f"dimensions must be a positive int, not {dimensions!r}")
    data = bytes(data)
    budget = budget or Budget.from_settings()
    timer = StageTimer()
    media_type: str | None = None
    try:
        with timer.stage("decode", wrap=CorruptedFileError):
            media_type = sniff_media_type(data)
            pipeline = PIPELINES.get(media_type)
            if pipeline is None:
                raise FormatError(f"no extractor for {media_type}")
            if text_embedder is not None and pipeline.modality != "text":
                raise FormatError(f"the collection's embedder {embedder_name} embeds text only, not {media_type}")
            decoded = pipeline.decode(data, media_type, budget)
        with timer.stage("chunk"):
            pieces = pipeline.chunk(decoded)
            budget.check_chunks(len(pieces))
        with timer.stage("embed"):
            if text_embedder is None:
                chunks = pipeline.embed(pieces, dimensions)
            else:
                chunks = _as_chunks(pieces, text_embedder([piece.text for piece in pieces]))
    except ExtractionError as exc:
        exc.media_type = media_type
        raise
    return Extraction(media_type, pipeline.modality, chunks, dimensions, list(timer.records))
