"""Split document text into overlapping chunks, deterministically.

Text is cut at the coarsest boundary that makes pieces small enough: blank
lines (paragraphs), then line breaks, then sentence ends, then spaces, and as a
last resort every N characters. Pieces are then packed greedily into chunks of
at most ``max_chars``; each chunk after the first starts with up to
``overlap`` characters from the end of the previous one (cut at a word start),
so a sentence split across two chunks is still findable from either side.
Chunks never span PDF pages: each section is chunked on its own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 1000
OVERLAP = 100

# Each boundary stays attached to the end of the piece before it, so joining
# pieces gives back the original text exactly (hence the capturing groups).
_BOUNDARIES = (
    re.compile(r"(\n[ \t\r\f\v]*\n\s*)"),
    re.compile(r"(\n\s*)"),
    re.compile(r"((?<=[.!?])\s+)"),
    re.compile(r"(\s+)"),
)


@dataclass(frozen=True)
class TextPiece:
    """A chunk's text and, for PDFs, its 1-based page."""

    text: str
    page: int | None = None


def _split_after(text: str, boundary: re.Pattern[str]) -> list[str]:
    """Split `text` after every match of `boundary`."""
    parts = boundary.split(text)
    pieces = [body + separator for body, separator in zip(parts[0::2], parts[1::2])]
    if parts[-1]:
        pieces.append(parts[-1])
    if len(pieces) > 1 and not pieces[0].strip():
        # Leading whitespace is not a piece of its own.
        pieces[1] = pieces[0] + pieces[1]
        del pieces[0]
    return pieces


def _pieces(text: str, limit: int, level: int = 0) -> list[str]:
    """Cut text into pieces of at most `limit` characters at the coarsest boundary possible."""
    if len(text.rstrip()) <= limit:
        return [text]
    if level == len(_BOUNDARIES):
        return [text[i : i + limit] for i in range(0, len(text), limit)]
    out: list[str] = []
    for piece in _split_after(text, _BOUNDARIES[level]):
        out.extend(_pieces(piece, limit, level + 1))
    return out


def _tail(text: str, size: int) -> str:
    """The last `size` characters of text, starting at a word if there is one."""
    if size <= 0 or not text:
        return ""
    tail = text[-size:]
    if len(tail) < len(text) and not text[-size - 1].isspace():
        # Drop the partial word the cut landed in, unless nothing else is left.
        space = re.search(r"\s", tail)
        if space and tail[space.end() :].strip():
            tail = tail[space.end() :]
    return tail.strip()


def chunk_text(text: str, max_chars: int = MAX_CHARS, overlap: int = OVERLAP) -> list[str]:
    """Split text into chunks of at most max_chars, each overlapping the previous by up to overlap."""
    if max_chars < 2 or not 0 <= overlap < max_chars // 2:
        raise ValueError("need max_chars >= 2 and 0 <= overlap < max_chars / 2")
    text = text.strip()
    if not text:
        return []
    # Room for the carried-over tail and the space joining it.
    limit = max_chars - overlap - (1 if overlap else 0)
    chunks: list[str] = []
    parts: list[str] = []
    size = 0  # len("".join(parts)), without building it for every piece
    for piece in _pieces(text, limit):
        content = len(piece.rstrip())
        if parts and size + content > max_chars and "".join(parts).strip():
            chunks.append("".join(parts).strip())
            tail = _tail(chunks[-1], overlap)
            parts = [tail + " "] if tail else []
            size = len(parts[0]) if parts else 0
        parts.append(piece)
        size += len(piece)
    if "".join(parts).strip():
        chunks.append("".join(parts).strip())
    return chunks


def chunk_sections(sections: list[TextPiece], max_chars: int = MAX_CHARS, overlap: int = OVERLAP) -> list[TextPiece]:
    """Chunk each section (a whole document, or one PDF page) keeping its page number."""
    return [
        TextPiece(text, section.page) for section in sections for text in chunk_text(section.text, max_chars, overlap)
    ]
