"""Per-process cache of search matrices, valid only for the index signature they were built at."""
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from app.settings import get_settings


@dataclass
class SearchMatrix:
    """One modality of a collection as a normalised float32 matrix and the vector id of each row.

    `vectors` is None when the modality has more rows than SEARCH_MATRIX_MAX_ROWS: such a collection is
    searched without a matrix (see app.collections.search), so memory per process stays bounded.
    Hit texts and names are read by id for the top hits only, so they cost no memory here.
    """

    signature: str
    dimensions: int
    vectors: np.ndarray | None          # (rows, dimensions), every non-zero row of unit length
    ids: np.ndarray                     # int64 vectors.id of each row
    rows: int
    last_used: float = field(default_factory=time.monotonic)

    @property
    def nbytes(self) -> int:
        """Memory held by the matrix and its ids."""
        return (self.vectors.nbytes if self.vectors is not None else 0) + self.ids.nbytes


class MatrixCache:
    """A thread-safe LRU keyed by (namespace, collection_id, modality); an entry is served only for its signature."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[str, str, str], SearchMatrix] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, collection: tuple[str, str, str], signature: str) -> SearchMatrix | None:
        """The cached matrix if it was built at this signature; a stale one is dropped."""
        self.evict_idle()
        with self._lock:
            entry = self._entries.get(collection)
            if entry is None:
                return None
            if entry.signature != signature:
                del self._entries[collection]
                return None
            entry.last_used = time.monotonic()
            self._entries.move_to_end(collection)
            return entry

    def put(self, collection: tuple[str, str, str], matrix: SearchMatrix) -> None:
        """Keep a freshly built matrix, dropping the least recently used beyond the size limit."""
        limit = max(get_settings().SEARCH_CACHE_MAX_COLLECTIONS, 0)
        with self._lock:
            self.builds += 1
            self._entries[collection] = matrix
            self._entries.move_to_end(collection)
            while len(self._entries) > limit:
                self._entries.popitem(last=False)

    def evict_idle(self, ttl: float | None = None) -> int:
        """Drop entries unused for longer than the TTL; returns how many."""
        ttl = get_settings().SEARCH_CACHE_TTL_SECONDS if ttl is None else ttl
        horizon = time.monotonic() - ttl
        with self._lock:
            idle = [k for k, entry in self._entries.items() if entry.last_used < horizon]
            for k in idle:
                del self._entries[k]
        return len(idle)

    def clear(self) -> None:
        """Forget everything, build count included (tests, benchmarks)."""
        with self._lock:
            self._entries.clear()
            self.builds = 0

    def __len__(self) -> int:
        return len(self._entries)


matrices = MatrixCache()

