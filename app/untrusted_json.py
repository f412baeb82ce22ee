"""JSON from outside (bodies, form fields, cursors): bounded nesting, no lone surrogates, failures as 400s."""
import json
import re

from app.errors import ValidationFailed

# Deeper than any field of the contract needs, far below the parser's recursion limit, so nothing that
# later walks the value (validation, storage, the error envelope) can hit Python's recursion limit.
MAX_DEPTH = 64
# Bytes are decoded as strict UTF-8, which has no surrogates; then only a \uD800-\uDFFF escape (or a str
# handed in with one) can bring one in. Linear to search.
_SURROGATE = re.compile(r"\\u[dD][89abcdefABCDEF]|[\ud800-\udfff]")


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
    if isinstance(raw, (bytes, bytearray)):
        try:
            # RFC 8259: JSON between systems is UTF-8. json.loads would also take UTF-16/32 and surrogate bytes.
            raw = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MalformedJson(f"{what} is not UTF-8 text: {exc}") from None
    try:
        value = json.loads(raw)
    except RecursionError:
        raise MalformedJson(f"{what} nests deeper than {MAX_DEPTH} levels.", {"max_depth": MAX_DEPTH}) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJson(f"{what} is not valid JSON: {exc}") from None
    if too_deep(value):
        raise MalformedJson(f"{what} nests deeper than {MAX_DEPTH} levels.", {"max_depth": MAX_DEPTH})
    # Bodies can be large: the full check runs only when something that could be a surrogate is there.
    if _SURROGATE.search(raw) and has_lone_surrogate(value):
        raise MalformedJson(f"{what} holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text.")
    return value
