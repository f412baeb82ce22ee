"""The free-form `metadata` of objects and batches: capped in size, since every listing returns it."""
import json

from app.settings import get_settings
from app.errors import PayloadTooLarge


def metadata_bytes(metadata: dict | None) -> int:
    """Size of the metadata as stored: compact UTF-8 JSON."""
    return len(json.dumps(metadata or {}, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def check_metadata(metadata: dict | None) -> None:
    """Refuse (413 payload_too_large) metadata larger than MAX_METADATA_BYTES."""
    limit, size = get_settings().MAX_METADATA_BYTES, metadata_bytes(metadata)
    if size > limit:
        raise PayloadTooLarge(f"The metadata is {size} bytes as JSON; the limit is {limit} (MAX_METADATA_BYTES).",
                              {"setting": "MAX_METADATA_BYTES", "limit": limit, "actual": size})
