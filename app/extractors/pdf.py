"""PDF text, page by page, with pypdf.

Decisions:
- A file that starts with %PDF- but has no %%EOF marker in its last KiB is
  truncated: corrupted_file, even though pypdf could often rebuild part of it
  (silently indexing half a document is worse than saying it is broken).
- Anything pypdf raises while reading the structure or a page's text is
  corrupted_file.
- An encrypted PDF that does not open with the empty password is
  format_error: it is not broken, we just cannot read it.
- A PDF without extractable text (a scan with no text layer) succeeds with
  zero chunks; there is no OCR. Blank pages are skipped; the others keep
  their 1-based page number.
"""
from __future__ import annotations

import io
import logging

from app.extractors.base import DEFAULT_BUDGET, Budget, CorruptedFileError, FormatError
from app.extractors.chunking import TextPiece

# pypdf logs every oddity it works around (as warnings and errors, some
# with whole font tables); the extraction outcome already says what matters.
logging.getLogger("pypdf").setLevel(logging.CRITICAL)


def decode_pdf(data: bytes, media_type: str = "application/pdf", budget: Budget = DEFAULT_BUDGET) -> list[TextPiece]:
    """Text of each page that has any, with its 1-based page number (within the budget's characters)."""
    # Imported here so that importing the extractors stays cheap for the API.
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    if b"%%EOF" not in data[-1024:]:
        raise CorruptedFileError("PDF is truncated: no %%EOF marker at the end")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise FormatError("PDF is encrypted with a password")
        pages, size = [], 0
        for number, page in enumerate(reader.pages, start=1):
            pages.append((number, page.extract_text() or ""))
            size += len(pages[-1][1])
            budget.check_chars(size)  # page by page: a huge document stops early
    except (DependencyError, FileNotDecryptedError) as exc:
        raise FormatError(f"PDF cannot be decrypted: {exc}") from exc
    except (FormatError, CorruptedFileError, MemoryError):
        raise
    except Exception as exc:
        # Broken structure surfaces as PdfReadError but also as KeyError,
        # TypeError, ValueError, RecursionError... from deep inside pypdf.
        raise CorruptedFileError(f"PDF does not decode: {type(exc).__name__}: {exc}") from exc
    return [TextPiece(text, number) for number, text in pages if text.strip()]
