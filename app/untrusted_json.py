"""JSON from outside (bodies, form fields, cursors): bounded nesting, no lone surrogates, failures as 400s."""
import json
import re

from app.errors import ValidationFailed

# Deeper than any field of the contract needs, far below the parser's recursion limit, so nothing that
# later walks the value (validation, storage, the error envelope) can hit Python's recursion limit.
MAX_DEPTH = 64
# Only a \uD800-\uDFFF escape can smuggle a surrogate in: raw UTF-8 cannot encode one. Linear to search.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


class MalformedJson(ValidationFailed):
    """A body or field that is not acceptable JSON: 400, like malformed syntax."""

    status = 400


def too_deep(value, limit: int = MAX_DEPTH) -> bool:
    """True when lists/objects nest more than `limit` levels (walked without recursion)."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def has_lone_surrogate(value) -> bool:
    """True when some string (key or value) holds a UTF-16 surrogate, which no database or UTF-8 text can store."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_json(raw: bytes | str, what: str = "The body"):
    """Parse untrusted JSON; MalformedJson (400) for bad syntax, encoding, depth or lone surrogates."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise MalformedJson(f"{what} nests deeper than {MAX_DEPTH} levels.", {"max_depth": MAX_DEPTH}) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJson(f"{what} is not valid JSON: {exc}") from None
    if too_deep(value):
        raise MalformedJson(f"{what} nests deeper than {MAX_DEPTH} levels.", {"max_depth": MAX_DEPTH})
    # Bodies can be large: the full check runs only when an escape that could hide a surrogate is there.
    suspect = isinstance(raw, str) or _SURROGATE_ESCAPE.search(raw) is not None
    if suspect and has_lone_surrogate(value):
        raise MalformedJson(f"{what} holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text.")
    return value
