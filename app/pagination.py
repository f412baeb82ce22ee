"""Opaque keyset cursors: the client sees a token, the services see the last row's key."""
import base64
import binascii
import json

from app.errors import ValidationFailed
from app.untrusted_json import MalformedJson, parse_json


def encode_cursor(last_key) -> str:
    """A URL-safe token for the next page."""
    return base64.urlsafe_b64encode(json.dumps({"k": last_key}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None):
    """The key a cursor stands for, or None for the first page; a forged cursor is a 422."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return parse_json(base64.urlsafe_b64decode(padded.encode()).decode("utf-8"), "The cursor")["k"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError, MalformedJson):
        raise ValidationFailed("The cursor is not valid; use next_cursor from a previous page.",
                               {"fields": {"cursor": ["invalid cursor"]}}) from None


def keyset_page(session, query, column, cursor: str | None, limit: int, newest_first: bool = True):
    """One page of `query` ordered by a unique `column`, after the cursor's key; returns (rows, next_cursor)."""
    after = decode_cursor(cursor)
    if after is not None:
        expected = column.type.python_type
        if type(after) is not expected or (expected is int and not 0 <= after < 2**63):
            raise ValidationFailed("The cursor is not valid; use next_cursor from a previous page.",
                                   {"fields": {"cursor": ["invalid cursor"]}})
        query = query.where(column < after if newest_first else column > after)
    ordered = query.order_by(column.desc() if newest_first else column.asc())
    rows = list(session.scalars(ordered.limit(limit + 1)))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(getattr(rows[-1], column.key))
    return rows, None
