"""PNG and JPEG images: one hand-crafted feature vector per image, via Pillow.

Features, computed on a copy scaled to fit 256x256 (which also bounds the
cost of huge images), each group L2-normalised then weighted:
- colour: 16-bin histogram per RGB channel, square-rooted (Hellinger) so that
  one dominant colour does not drown the rest; plus per-channel mean and std;
- edges: gradient orientation histogram (8 bins over 0..pi, weighted by
  magnitude) and a gradient magnitude histogram (8 log-spaced bins);
- layout: an 8x8 grayscale thumbnail.
The concatenation (142 values) is mapped to `dimensions` with the fixed +-1
projection of app.extractors.hashing, the same for every dimension count
(cosine similarity is roughly preserved, and all dimensions carry signal
instead of zero padding), then L2-normalised.

Decisions:
- Transparent pixels are composited onto white before analysis.
- More than the budget's pixels (MAX_IMAGE_PIXELS, checked from the header
  before decoding, at the scale a JPEG decodes to) is format_error: such an
  image may be real, but it is not one we process, and a decompression bomb
  must not be decoded to find out.
- A header Pillow can read with a body it cannot decode (Pillow fails in
  .load(), e.g. a broken or truncated IDAT) is corrupted_file.
"""
from __future__ import annotations

import io

import numpy as np

from app.extractors.base import DEFAULT_BUDGET, Budget, Chunk, CorruptedFileError, FormatError
from app.extractors.hashing import l2_normalise, project

ANALYSIS_SIZE = 256
_SEED = 0x1A6E
_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG"}
_MAGNITUDE_EDGES = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
_WEIGHTS = {"colour": 1.0, "stats": 0.5, "orientation": 1.0, "magnitude": 0.5, "thumbnail": 1.0}


def decode_image(data: bytes, media_type: str, budget: Budget = DEFAULT_BUDGET) -> np.ndarray:
    """RGB uint8 array of the image, scaled to fit ANALYSIS_SIZE square."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data), formats=[_FORMATS[media_type]])
    except Image.DecompressionBombError as exc:
        raise FormatError(f"image too large: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptedFileError(f"image header does not decode: {exc}") from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise CorruptedFileError(f"image has no pixels: {width}x{height}")
    try:
        # JPEG only: let libjpeg decode straight at a reduced scale (draft changes image.size to it).
        image.draft("RGB", (ANALYSIS_SIZE, ANALYSIS_SIZE))
    except Exception as exc:
        raise CorruptedFileError(f"image header does not decode: {type(exc).__name__}: {exc}") from exc
    budget.check_pixels(*image.size)
    try:
        image.load()
        image = _shrink_before_converting(image)
        image = _to_rgb(image)
        image.thumbnail((ANALYSIS_SIZE, ANALYSIS_SIZE))
    except Image.DecompressionBombError as exc:
        raise FormatError(f"image too large: {exc}") from exc
    except MemoryError:
        raise
    except Exception as exc:
        raise CorruptedFileError(f"image body does not decode: {type(exc).__name__}: {exc}") from exc
    return np.asarray(image, dtype=np.uint8)


def _shrink_before_converting(image):  # type: ignore[no-untyped-def]
    """Box-reduce a big image in its own mode first, so colour conversion never copies it at full size."""
    factor = min(image.size) // (2 * ANALYSIS_SIZE)
    if factor < 2 or image.mode not in ("RGB", "RGBA", "L", "LA"):
        return image
    return image.reduce(factor)


def _to_rgb(image):  # type: ignore[no-untyped-def]
    """RGB version of any mode: alpha onto white, 16-bit and float rescaled."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = values.max()
        scaled = (values / top * 255.0) if top > 0 else np.zeros_like(values)
        image = Image.fromarray(scaled.astype(np.uint8), mode="L")
    if "A" in image.mode or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def image_features(rgb: np.ndarray) -> np.ndarray:
    """Concatenated, per-group normalised colour, edge and layout features (142 floats)."""
    pixels = rgb.reshape(-1, 3)
    colour = np.concatenate([np.bincount(pixels[:, c] >> 4, minlength=16) for c in range(3)]) / len(pixels)
    stats = np.concatenate([pixels.mean(axis=0), pixels.std(axis=0)]) / 255.0
    gray = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    orientation, magnitude = _edge_histograms(gray)
    groups = {
        "colour": np.sqrt(colour),
        "stats": stats,
        "orientation": orientation,
        "magnitude": magnitude,
        "thumbnail": _thumbnail(gray),
    }
    return np.concatenate([_WEIGHTS[name] * l2_normalise(values) for name, values in groups.items()])


def _edge_histograms(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude-weighted orientation histogram and magnitude histogram of the gradients."""
    if min(gray.shape) < 3:
        return np.zeros(8), np.eye(8)[0]
    gx = gray[1:-1, 2:] - gray[1:-1, :-2]
    gy = gray[2:, 1:-1] - gray[:-2, 1:-1]
    magnitude = np.hypot(gx, gy).ravel()
    # Orientation modulo pi: an edge is the same edge whichever side is dark.
    angle = np.mod(np.arctan2(gy, gx).ravel(), np.pi)
    bins = np.minimum((angle / np.pi * 8).astype(np.int64), 7)
    orientation = np.bincount(bins, weights=magnitude, minlength=8)
    strength = np.bincount(np.searchsorted(_MAGNITUDE_EDGES, magnitude), minlength=8) / magnitude.size
    return orientation, strength


def _thumbnail(gray: np.ndarray) -> np.ndarray:
    """8x8 block means of the grayscale image, in [0, 1]."""
    height, width = gray.shape
    rows = np.arange(8) * height // 8
    cols = np.arange(8) * width // 8
    sums = np.add.reduceat(np.add.reduceat(gray, rows, axis=0), cols, axis=1)
    # For images under 8 pixels a side reduceat repeats a single pixel, whose
    # block size np.diff gives as 0: count it as 1.
    sizes = np.outer(np.diff(rows, append=height), np.diff(cols, append=width))
    return (sums / np.maximum(sizes, 1) / 255.0).ravel()


def embed_images(images: list[np.ndarray], dimensions: int) -> list[Chunk]:
    """One chunk per decoded image."""
    return [Chunk(i, project(image_features(rgb), dimensions, _SEED)) for i, rgb in enumerate(images)]
