"""Vectorised integer hashing and the fixed projection to `dimensions` floats.

Python's hash() is salted per process, so every hash here is a fixed
arithmetic function: the same input gives the same vector on every machine
and in every worker, which stored vectors depend on.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

_M1 = np.uint32(0x85EBCA6B)
_M2 = np.uint32(0xC2B2AE35)


def mix32(h: np.ndarray) -> np.ndarray:
    """Murmur3's fmix32 finaliser over a uint32 array (returns a new array)."""
    h = h ^ (h >> np.uint32(16))
    h *= _M1
    h ^= h >> np.uint32(13)
    h *= _M2
    h ^= h >> np.uint32(16)
    return h


def buckets_and_signs(h: np.ndarray, dimensions: int, weight: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Bucket in [0, dimensions) from the high bits and a +-weight sign from the low bit."""
    # Multiply-high keeps buckets uniform for any dimension count, and leaves
    # bit 0 independent of the bucket (h % 384 would tie the sign to parity).
    if dimensions <= 1 << 16:
        bucket = ((h >> np.uint32(16)) * np.uint32(dimensions)) >> np.uint32(16)
    else:
        bucket = (h.astype(np.uint64) * np.uint64(dimensions)) >> np.uint64(32)
    sign = np.take(np.array([weight, -weight]), h & np.uint32(1))
    return bucket.astype(np.intp), sign


@lru_cache(maxsize=16)
def _projection(n_features: int, dimensions: int, seed: int) -> np.ndarray:
    """A fixed random +-1 matrix (n_features, dimensions), derived by hashing."""
    # Built from mix32 rather than np.random so the matrix can never change
    # with a NumPy upgrade (which would silently invalidate stored vectors).
    cells = np.arange(n_features * dimensions, dtype=np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B1)
    bits = mix32((cells & np.uint64(0xFFFFFFFF)).astype(np.uint32) ^ np.uint32(seed))
    matrix = np.where(bits & np.uint32(1), -1.0, 1.0).reshape(n_features, dimensions)
    matrix /= np.sqrt(dimensions)
    matrix.setflags(write=False)
    return matrix


def project(features: np.ndarray, dimensions: int, seed: int) -> np.ndarray:
    """Map a feature vector to `dimensions` floats with a fixed +-1 projection, L2-normalised."""
    features = np.asarray(features, dtype=np.float64).ravel()
    vector = features @ _projection(features.size, dimensions, seed)
    return l2_normalise(vector)


def l2_normalise(vector: np.ndarray) -> np.ndarray:
    """Unit-length float32 copy; an all-zero input stays all-zero."""
    vector = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(vector))
    if norm == 0.0 or not np.isfinite(norm):
        return np.zeros(vector.shape, dtype=np.float32)
    return (vector / norm).astype(np.float32)
