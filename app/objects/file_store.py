"""Object bytes as files under a local (or shared network) directory: today's single-machine storage."""
import os
import tempfile
from pathlib import Path

from app.objects.upload_stream import CountedBlocks, StoredBytes, new_key
from app.private_files import private_dir

_BLOCK = 1024 * 1024


class FileStore:
    """Files named by key under `root`; uploads land in a temp file and are renamed into place."""

    def __init__(self, root: str):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        """The file of a key (keys are generated, never a client's name)."""
        return self.root / key

    def save_stream(self, stream, max_bytes: int | None) -> StoredBytes:
        """Copy the stream to a new file; nothing stays behind if it fails."""
        key = new_key()
        target = self._path(key)
        private_dir(target.parent)   # tenants' files: only this user may read them
        blocks = CountedBlocks(stream, max_bytes, _BLOCK)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                for block in blocks:
                    out.write(block)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return blocks.stored_as(key)

    def read_bytes(self, key: str) -> bytes:
        """The file's bytes."""
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        """Unlink; missing is fine."""
        self._path(key).unlink(missing_ok=True)

    def stored_before(self, older_than: float):
        """Files (upload temp files included) last modified before `older_than`."""
        if not self.root.is_dir():
            return
        for path in self.root.rglob("*"):
            try:
                if path.is_file() and path.stat().st_mtime < older_than:
                    yield path.relative_to(self.root).as_posix()
            except FileNotFoundError:  # removed while we walked
                continue

    def abandon_uploads(self, older_than: float) -> int:
        """Unfinished uploads are temp files that stored_before already lists."""
        return 0
