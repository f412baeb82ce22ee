"""Text documents: telling text from binary, naming the kind, and decoding it.

Decisions:
- Text is UTF-8 (a UTF-8 BOM is dropped), or UTF-16/UTF-32 *with* a BOM.
  BOM-less UTF-16 has NUL bytes and is treated as binary (format_error).
- Bytes that look like text (no NULs, almost no control bytes, mostly ASCII)
  but are not valid in their encoding, e.g. Latin-1 text or a BOM followed by
  garbage, are "claimed text that does not decode": corrupted_file.
- An empty or whitespace-only file is valid, empty text/plain: it succeeds
  with zero chunks, like any document with no extractable text.
- The kind is guessed from the first 64 KiB only (so sniffing a file's
  first 64 KiB, as the upload path does, agrees with sniffing all of it), in
  this order: JSON (an object/array, or a cut-off start of one), HTML
  (doctype/html/head/body tag, or two common tags, at the start), Markdown (a
  leading heading, a fenced block, or two kinds of markup among headings,
  lists, links, fences, emphasis/code, quotes and tables), CSV (every line
  has the same number >= 2 of fields for one of , TAB ; | with 3+ lines or
  3+ fields), else plain text. Whether the whole file is valid (UTF-8
  throughout, JSON that parses) is checked when decoding: corrupted_file.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re

import numpy as np

from app.extractors.base import DEFAULT_BUDGET, Budget, BudgetExceeded, CorruptedFileError
from app.extractors.chunking import TextPiece
from app.extractors.html_text import visible_text

SAMPLE = 1 << 16
KEY_CHARS = 64    # a JSON key longer than this is cut in the flattened text
PATH_CHARS = 256  # a flattened path longer than this keeps its end
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Control bytes that never appear in text (TAB, LF, VT, FF, CR and ESC can).
_CONTROL = np.zeros(256, dtype=bool)
_CONTROL[[*range(0, 9), *range(14, 27), *range(28, 32), 127]] = True

_MARKDOWN = {
    "heading": re.compile(r"^#{1,6}[ \t]+\S", re.M),
    "list": re.compile(r"^[ \t]{0,3}(?:[-*+]|\d{1,3}[.)])[ \t]+\S", re.M),
    # Link text and target exclude their own opening bracket, so each character is scanned from one start
    # only: linear even on a line of 64 KiB of "[" or "[a](" (the old pattern backtracked quadratically).
    "link": re.compile(r"!?\[[^\[\]\n]+\]\([^()\s]+\)"),
    "fence": re.compile(r"^[ \t]{0,3}(?:```|~~~)", re.M),
    "emphasis": re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__|`[^`\n]+`"),
    "quote": re.compile(r"^>[ \t]?\S", re.M),
    "table": re.compile(r"^\|?[ \t]*:?-{3,}:?[ \t]*\|", re.M),
}
_PARTIAL_JSON_TAIL = re.compile(r"-?[0-9.eE+-]*|t(?:r(?:ue?)?)?|f(?:a(?:l(?:se?)?)?)?|n(?:u(?:ll?)?)?")
_HTML_ROOT = re.compile(r"<(?:!doctype\s+html|html|head|body)\b")
_HTML_TAG = re.compile(r"</?(?:div|p|span|a|table|tr|td|ul|ol|li|h[1-6]|br|img|meta|title|script|style|link|form)\b")


def _bom_encoding(data: bytes) -> str | None:
    """The encoding a leading byte-order mark announces, if any."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def _decode_sample(sample: bytes) -> str:
    """Decode a leading sample, tolerating a character cut off at its end."""
    encoding = _bom_encoding(sample) or "utf-8"
    return codecs.getincrementaldecoder(encoding)().decode(sample, final=False)


def looks_like_text(data: bytes) -> bool:
    """True when the bytes claim to be text (whether or not they decode)."""
    if _bom_encoding(data) is not None:
        return True
    sample = np.frombuffer(data[:SAMPLE], dtype=np.uint8)
    if sample.size == 0:
        return True
    counts = np.bincount(sample, minlength=256)
    if counts[0] or counts[_CONTROL].sum() > 0.01 * sample.size:
        return False
    try:
        _decode_sample(data[:SAMPLE])
        return True
    except UnicodeDecodeError:
        # Valid UTF-8 may be mostly multi-byte (CJK); invalid bytes only count
        # as "text in a wrong encoding" when they are a minority, else binary.
        return counts[128:].sum() <= 0.3 * sample.size


def decode_text(data: bytes) -> str:
    """Decode text bytes (BOM-aware) with normalised newlines; CorruptedFileError if invalid."""
    encoding = _bom_encoding(data) or "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CorruptedFileError(f"not valid {encoding} text at byte {exc.start}") from exc
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _parse_json(text: str) -> object | None:
    """The parsed object or array, or None if text is not JSON of that shape."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, (dict, list)) else None


def _is_json_start(text: str) -> bool:
    """Whether text is a JSON object/array or a prefix of one (sniffing sees 64 KiB)."""
    text = text.strip()
    if not text.startswith(("{", "[")):
        return False
    try:
        json.loads(text)
    except RecursionError:
        return False
    except json.JSONDecodeError as error:
        # A cut-off document fails only at its very end: an unterminated
        # string, or a missing value/delimiter or partial literal/number.
        rest = text[error.pos :]
        if error.msg.startswith("Unterminated string"):
            return '"' not in rest[1:]
        return _PARTIAL_JSON_TAIL.fullmatch(rest) is not None
    except ValueError:  # e.g. an integer of more than 4,300 digits: not a document we would parse either
        return False
    return True


def _is_markdown(head: str) -> bool:
    """Heuristic: a leading heading, a fenced block, or two kinds of markup."""
    first_line = head.lstrip().split("\n", 1)[0]
    if _MARKDOWN["heading"].match(first_line):
        return True
    if len(_MARKDOWN["fence"].findall(head)) >= 2:
        return True
    return sum(1 for pattern in _MARKDOWN.values() if pattern.search(head)) >= 2


def _csv_delimiter(head: str, truncated: bool) -> str | None:
    """The delimiter giving every line the same field count (>= 2), if any."""
    lines = [line for line in head.split("\n")[:200] if line.strip()]
    if truncated or len(head.split("\n")) > 200:
        lines = lines[:-1]  # the last line may be cut short
    if len(lines) < 2:
        return None
    for delimiter in (",", "\t", ";", "|"):
        if delimiter not in lines[0]:
            continue
        try:
            widths = {len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter) if row}
        except csv.Error:
            continue
        if len(widths) == 1:
            width = widths.pop()
            if width >= 2 and (len(lines) >= 3 or width >= 3):
                return delimiter
    return None


def sniff_text(data: bytes) -> str | None:
    """Media type of text content from its first 64 KiB, or None if it is not text."""
    if not looks_like_text(data):
        return None
    try:
        text = _decode_sample(data[:SAMPLE])
    except UnicodeDecodeError:
        # Claimed text that is not valid in its encoding: decoding reports it.
        return "text/plain"
    return classify_text(text.replace("\r\n", "\n"), maybe_cut=len(data) >= SAMPLE)


def classify_text(text: str, maybe_cut: bool = False) -> str:
    """Media type of decoded text: JSON, HTML, Markdown, CSV or plain."""
    head = text[:SAMPLE]
    start = head.lstrip()[:4096]
    bracketed = start[:1] in ("{", "[")
    if bracketed and _is_json_start(head):
        return "application/json"
    if start.startswith("<"):
        lowered = start.lower()
        if _HTML_ROOT.search(lowered) or len(_HTML_TAG.findall(lowered)) >= 2:
            return "text/html"
    if _is_markdown(head):
        return "text/markdown"
    # JSON Lines and broken JSON would pass the CSV check; they are plain text.
    if not bracketed and _csv_delimiter(head, maybe_cut or len(text) > SAMPLE):
        return "text/csv"
    return "text/plain"


def _segment(key: object) -> str:
    """A key as shown in a path: cut to KEY_CHARS, so a huge key is not repeated once per leaf."""
    key = str(key)
    return key if len(key) <= KEY_CHARS else key[: KEY_CHARS - 1] + "…"


def _join(path: str, segment: str) -> str:
    """Extend a path, keeping only its last PATH_CHARS characters (the most specific part)."""
    full = path + segment
    if len(full) <= PATH_CHARS:
        return full
    tail = full[-(PATH_CHARS - 1) :]
    starts = [i for i in (tail.find("["), tail.find(".")) if i >= 0]
    return "…" + (tail[min(starts) :] if starts else tail)  # from a whole segment when there is one


def _shown(value: object) -> str:
    """A scalar as text: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _flatten_json(value: object, budget: Budget = DEFAULT_BUDGET) -> str:
    """One 'path: value' line per leaf (a list of scalars is one line), so chunks split between fields.

    Paths are bounded (KEY_CHARS a key, PATH_CHARS a path) and the text is counted as it grows, so the
    output stays proportional to the input and within MAX_ITEM_CHARS.
    """
    lines: list[str] = []
    size = 0
    stack: list[tuple[str, object]] = [("", value)]
    # An explicit stack: nesting depth is only limited by the parser.
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack.extend(reversed([(_join(path, f".{_segment(key)}" if path else _segment(key)), item)
                                   for key, item in node.items()]))
        elif isinstance(node, list) and any(isinstance(item, (dict, list)) for item in node):
            stack.extend(reversed([(_join(path, f"[{i}]"), item) for i, item in enumerate(node)]))
        elif node != []:
            shown = ", ".join(map(_shown, node)) if isinstance(node, list) else _shown(node)
            lines.append(f"{path}: {shown}" if path else shown)
            size += len(lines[-1]) + 1
            if size > budget.max_chars:
                raise BudgetExceeded("extracted text characters", "MAX_ITEM_CHARS", budget.max_chars)
    return "\n".join(lines)


def decode_document(data: bytes, media_type: str, budget: Budget = DEFAULT_BUDGET) -> list[TextPiece]:
    """The text to chunk for a text document of the given media type (within the budget's characters)."""
    text = decode_text(data)
    if media_type == "text/html":
        text = visible_text(text)
    elif media_type == "application/json":
        value = _parse_json(text)
        if value is None:
            raise CorruptedFileError("not valid JSON")
        text = _flatten_json(value, budget)
    budget.check_chars(len(text))
    return [TextPiece(text)]
