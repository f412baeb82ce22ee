"""Opaque keyset cursors: the client sees a token, the services see the last row's key."""
import base64
import binascii
import json

from app.errors import ValidationFailed


def encode_cursor(last_key) -> str:
    """A URL-safe token for the next page."""
    return base64.urlsafe_b64encode(json.dumps({"k": last_key}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None):
    """The key a cursor stands for, or None for the first page; a forged cursor is a 422."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))["k"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ValidationFailed("The cursor is not valid; use next_cursor from a previous page.",
                               {"fields": {"cursor": ["invalid cursor"]}}) from None


def page(rows: list, limit: int, key_of) -> tuple[list, str | None]:
    """Split a query's limit+1 rows into the page and the next cursor."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(key_of(rows[-1]))
    return rows, None
