"""Text embedding by signed feature hashing, fully vectorised in NumPy.

Features are lower-cased word unigrams (weight 1.0) and byte 3-grams of the
normalised text (weight 0.5: a word of n bytes yields about n trigrams, so this
keeps both kinds at a similar share of the vector's energy). Normalisation maps
every ASCII byte that is not a letter or digit to a space and collapses runs of
spaces; bytes >= 0x80 (UTF-8 of non-ASCII letters) count as word characters.

Every text is padded with one space on each side, so trigrams carry word
boundaries (" th", "he ") and words are delimited by spaces. A batch of texts
becomes one byte stream; there is no Python loop over tokens, characters or
texts. Features land in the (texts, dimensions) matrix through np.bincount over
offset buckets ``row * dimensions + bucket`` with ``weights=sign``: one call for
any stream up to BLOCK_BYTES (every chunk, query and ordinary batch), one per
block beyond that. Blocking is deliberate: arrays over glibc's 32 MiB mmap
threshold are freshly page-faulted on every call, which cost more than all the
hashing, while ~1 MiB blocks stay in cache and reuse the same heap memory.
"""
from __future__ import annotations

import numpy as np

from app.extractors.hashing import buckets_and_signs, mix32

WORD_WEIGHT = 1.0
TRIGRAM_WEIGHT = 0.5
BLOCK_BYTES = 1 << 20
_SPACE = np.uint8(32)
_WORD_SEED = np.uint32(0x5BD1E995)
_TRIGRAM_SEED = np.uint32(0x27D4EB2F)
_P = 0x01000193  # odd, so it has an inverse mod 2**32


def _power_table(base: int, size: int) -> np.ndarray:
    """base**j mod 2**32 for j in [0, size)."""
    steps = np.full(size, base, dtype=np.uint32)
    steps[0] = 1
    return np.cumprod(steps, dtype=np.uint32)


# Blocks are cut at the first space after BLOCK_BYTES, so most fit in these
# cached tables; a longer block (one huge "word") builds its own.
_TABLE_SIZE = BLOCK_BYTES + (1 << 16)
_POWERS = _power_table(_P, _TABLE_SIZE)
_INVERSE_POWERS = _power_table(pow(_P, -1, 1 << 32), _TABLE_SIZE)


def _byte_table() -> np.ndarray:
    """Map each byte to itself (A-Z lowered) if it is part of a word, else to a space."""
    table = np.full(256, 32, dtype=np.uint8)
    word = list(range(ord("0"), ord("9") + 1)) + list(range(ord("a"), ord("z") + 1)) + list(range(128, 256))
    table[word] = word
    table[ord("A") : ord("Z") + 1] = np.arange(ord("a"), ord("z") + 1)
    return table


_TABLE = _byte_table().tobytes()


def _normalised_stream(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One normalised byte stream for all texts, and where each text starts in it."""
    # The table lowers ASCII itself; str.lower() is only needed (and only
    # paid for) when a text has non-ASCII letters.
    parts = [(" " + (t if t.isascii() else t.lower()) + " ").encode("utf-8", "surrogatepass") for t in texts]
    # One padding byte at the end lets trigrams be read as unaligned uint32s.
    data = np.frombuffer((b"".join(parts) + b"\0").translate(_TABLE), dtype=np.uint8)
    space = data == _SPACE
    keep = np.empty(data.size, dtype=bool)
    keep[0] = True
    np.logical_not(space[1:] & space[:-1], out=keep[1:])
    raw_starts = np.zeros(len(parts), dtype=np.int64)
    np.cumsum(np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))[:-1], out=raw_starts[1:])
    # Never merge one text's trailing space into the next text's leading one.
    keep[raw_starts] = True
    keep[-1] = True
    # A text's start moves left by the bytes collapsed before it.
    removed = np.flatnonzero(~keep) if len(parts) > 1 else np.zeros(0, dtype=np.int64)
    starts = raw_starts - np.searchsorted(removed, raw_starts)
    return data[keep], starts


def _block_bounds(data: np.ndarray) -> np.ndarray:
    """Cut points (indices of spaces) splitting the stream into ~BLOCK_BYTES blocks."""
    last = data.size - 2  # data ends with the final text's space, then the pad byte
    if last < BLOCK_BYTES:
        return np.array([0, last])
    spaces = np.flatnonzero(data[: last + 1] == _SPACE)
    wanted = np.arange(0, last, BLOCK_BYTES)
    return np.unique(np.append(spaces[np.searchsorted(spaces, wanted)], last))


def _word_hashes(view: np.ndarray, space: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint32 hash of each word in a space-bounded view, and its start offset."""
    starts = np.flatnonzero(space[:-1] & ~space[1:]) + 1
    ends = np.flatnonzero(~space[:-1] & space[1:]) + 1
    powers, inverse = _POWERS, _INVERSE_POWERS
    if view.size > _TABLE_SIZE:
        powers, inverse = _power_table(_P, view.size), _power_table(int(_INVERSE_POWERS[1]), view.size)
    # Prefix polynomial hash: prefix[i] = sum b[j] * P**j, so a word's hash
    # sum b[s+k] * P**k is (prefix[e] - prefix[s]) * P**-s (all mod 2**32).
    terms = view.astype(np.uint32)
    terms *= powers[: view.size]
    prefix = np.zeros(view.size + 1, dtype=np.uint32)
    np.cumsum(terms, out=prefix[1:])
    words = prefix[ends]
    words -= prefix[starts]
    words *= inverse[starts]
    return mix32(words ^ _WORD_SEED), starts


def _trigram_hashes(data: np.ndarray, lo: int, count: int, space: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """uint32 hash of the `count` byte 3-grams from data[lo] on, and which span two texts."""
    # Each gram is the little-endian uint32 at every byte offset with its top
    # byte masked: one unaligned strided read instead of three shifted copies.
    grams = np.ndarray((count,), dtype="<u4", buffer=data, offset=lo, strides=(1,)) & np.uint32(0xFFFFFF)
    # Collapsing leaves double spaces only where two texts meet, so a gram
    # holding one spans texts.
    pair = space[: count + 1] & space[1 : count + 2]
    crossing = (pair[:-1] | pair[1:]) if pair.any() else None
    return mix32(grams ^ _TRIGRAM_SEED), crossing


def _accumulate(data: np.ndarray, lo: int, hi: int, starts: np.ndarray, out: np.ndarray) -> None:
    """Add the features of stream positions [lo, hi] (both spaces) to `out`."""
    dimensions = out.shape[1]
    space = data[lo : hi + 2] == _SPACE
    word_hashes, word_pos = _word_hashes(data[lo : hi + 1], space[:-1])
    # Grams starting in [lo, hi); the last real byte is at data.size - 2.
    count = max(0, min(hi, data.size - 3) - lo)
    gram_hashes, crossing = _trigram_hashes(data, lo, count, space)
    word_buckets, word_signs = buckets_and_signs(word_hashes, dimensions, WORD_WEIGHT)
    gram_buckets, gram_signs = buckets_and_signs(gram_hashes, dimensions, TRIGRAM_WEIGHT)
    first = int(np.searchsorted(starts, lo, side="right")) - 1
    last = int(np.searchsorted(starts, hi, side="right")) - 1
    slots = (last - first + 1) * dimensions
    if last > first:
        # Slot offset of every byte's text, relative to the block's first text;
        # a gram belongs to the text of its middle byte.
        marks = np.zeros(hi + 2 - lo, dtype=np.intp)
        marks[starts[first + 1 : last + 1] - lo] = dimensions
        offsets = np.cumsum(marks)
        word_buckets += offsets[word_pos]
        gram_buckets += offsets[1 : count + 1]
    if crossing is not None:
        # Grams spanning two texts go to one spare slot that is then dropped.
        np.putmask(gram_buckets, crossing, slots)
    counts = np.bincount(
        np.concatenate((word_buckets, gram_buckets)),
        weights=np.concatenate((word_signs, gram_signs)),
        minlength=slots + 1,
    )
    out[first : last + 1] += counts[:slots].reshape(-1, dimensions)


def embed_texts(texts: list[str], dimensions: int = 384) -> np.ndarray:
    """Embed many texts at once: (n, dimensions) float32, rows L2-normalised."""
    if dimensions < 1:
        raise ValueError("dimensions must be positive")
    texts = list(texts)
    out = np.zeros((len(texts), dimensions), dtype=np.float64)
    if not texts:
        return out.astype(np.float32)
    data, starts = _normalised_stream(texts)
    bounds = _block_bounds(data)
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        _accumulate(data, lo, hi, starts, out)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out.astype(np.float32)


def embed_text(text: str, dimensions: int = 384) -> np.ndarray:
    """Embed one text (e.g. a search query): float32 (dimensions,), L2-normalised."""
    return embed_texts([text], dimensions)[0]
