"""Stores uploaded bytes under generated names in the data directory; never uses a client's filename."""
import hashlib
import os
import secrets
import tempfile
from pathlib import Path

from app.settings import get_settings
from app.errors import PayloadTooLarge
from app.private_files import private_dir

_CHUNK = 1024 * 1024


_roots: dict[str, Path] = {}


def _root() -> Path:
    """The objects directory, created private on first use (resolved once per data directory: it is on every read)."""
    data_dir = get_settings().BATCHERY_DATA_DIR
    root = _roots.get(data_dir)
    if root is None:
        root = _roots[data_dir] = private_dir(get_settings().objects_dir)
    return root


def save_stream(stream, max_bytes: int | None = None) -> tuple[str, int, str]:
    """Copy a stream to a new file, hashing as it goes; returns (relative path, size, sha256)."""
    root = _root()
    name = secrets.token_hex(16)
    relative = f"{name[:2]}/{name}"
    target = root / relative
    private_dir(target.parent)
    digest, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while block := stream.read(_CHUNK):
                size += len(block)
                if max_bytes is not None and size > max_bytes:
                    raise PayloadTooLarge(
                        f"A file is larger than the limit of {max_bytes} bytes (MAX_FILE_BYTES).",
                        {"setting": "MAX_FILE_BYTES", "limit": max_bytes, "actual_at_least": size},
                    )
                digest.update(block)
                out.write(block)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return relative, size, digest.hexdigest()


def read_bytes(relative: str) -> bytes:
    """The stored bytes of an object."""
    return (_root() / relative).read_bytes()


def path_of(relative: str) -> Path:
    """The absolute path of a stored object (for streaming readers)."""
    return _root() / relative


def delete(relative: str) -> None:
    """Remove a stored file; a missing file is not an error."""
    (_root() / relative).unlink(missing_ok=True)
