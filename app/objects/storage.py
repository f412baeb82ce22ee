"""Where object bytes live: one small interface, a local directory or an S3 bucket chosen by BATCHERY_STORAGE_URL."""
from functools import lru_cache
from urllib.parse import unquote, urlparse

from app.settings import get_settings
from app.errors import StorageUnavailable  # noqa: F401  (part of this interface)
from app.objects.upload_stream import StoredBytes


def _store():
    """The backend of the configured storage URL (one per URL and process)."""
    settings = get_settings()
    return _open(settings.storage_url, settings.BATCHERY_S3_ENDPOINT_URL)


@lru_cache(maxsize=4)
def _open(url: str, endpoint_url: str):
    """Build a backend from `file:///path` or `s3://bucket/prefix`."""
    parts = urlparse(url)
    if parts.scheme == "file" and parts.path:
        from app.objects.file_store import FileStore

        return FileStore(unquote(parts.path))
    if parts.scheme == "s3" and parts.netloc:
        from app.objects.s3_store import S3Store

        return S3Store(parts.netloc, unquote(parts.path).strip("/"), endpoint_url or None)
    raise ValueError(f"BATCHERY_STORAGE_URL must be file:///path or s3://bucket/prefix, not {url!r}")


def forget_clients() -> None:
    """Drop cached backends (after fork: a child must not share the parent's connections)."""
    _open.cache_clear()


def save_stream(stream, max_bytes: int | None = None) -> StoredBytes:
    """Copy a stream to a new object under a generated key, hashing as it goes (PayloadTooLarge past max_bytes)."""
    return _store().save_stream(stream, max_bytes)


def read_bytes(key: str) -> bytes:
    """The stored bytes (FileNotFoundError when they are gone, StorageUnavailable on an outage)."""
    return _store().read_bytes(key)


def delete(key: str) -> None:
    """Remove stored bytes; a missing key is not an error."""
    _store().delete(key)


def stored_before(older_than: float):
    """Keys of everything stored (unfinished uploads included) before the unix time `older_than`."""
    return _store().stored_before(older_than)


def abandon_uploads(older_than: float) -> int:
    """Discard unfinished uploads started before `older_than`; returns how many."""
    return _store().abandon_uploads(older_than)
