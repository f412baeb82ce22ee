"""Read an upload in bounded blocks, counting and hashing, and stop at the size limit."""
import hashlib
from typing import NamedTuple

from app.errors import PayloadTooLarge

HEAD_BYTES = 64 * 1024  # what media type sniffing looks at


class StoredBytes(NamedTuple):
    """What storing an upload produced: its key, size, sha256 and first bytes (for sniffing)."""

    key: str
    size: int
    sha256: str
    head: bytes


class CountedBlocks:
    """Iterates a stream's blocks of at most `block_size` bytes; `size` and `sha256` are known once exhausted."""

    def __init__(self, stream, max_bytes: int | None, block_size: int):
        self.stream, self.max_bytes, self.block_size = stream, max_bytes, block_size
        self.size, self._digest, self._head = 0, hashlib.sha256(), bytearray()

    def __iter__(self):
        while block := self.stream.read(self.block_size):
            self.size += len(block)
            if self.max_bytes is not None and self.size > self.max_bytes:
                raise PayloadTooLarge(
                    f"A file is larger than the limit of {self.max_bytes} bytes (MAX_FILE_BYTES).",
                    {"setting": "MAX_FILE_BYTES", "limit": self.max_bytes, "actual_at_least": self.size},
                )
            self._digest.update(block)
            if len(self._head) < HEAD_BYTES:
                self._head += block[:HEAD_BYTES - len(self._head)]
            yield block

    def stored_as(self, key: str) -> StoredBytes:
        """The outcome once every block was written under `key`."""
        return StoredBytes(key, self.size, self._digest.hexdigest(), bytes(self._head))


def new_key() -> str:
    """A random storage key, fanned out over 256 prefixes; never derived from a client's filename."""
    import secrets

    name = secrets.token_hex(16)
    return f"{name[:2]}/{name}"
