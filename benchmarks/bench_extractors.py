"""Extractor throughput on one core: text embedding, images and WAV audio.

Run from the repository root:  python -m benchmarks.bench_extractors  [--quick]

Text embedding is also timed against a naive pure-Python implementation of
the same features (a loop per token and per trigram) on a smaller slice, in
the same run; both must give the same vector, so the ratio compares like with
like.
"""
from __future__ import annotations

import os

# Pin BLAS to one thread before NumPy loads, and the process to one core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import io  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from app.extractors import embed_text, embed_texts, extract  # noqa: E402
from app.extractors import text_embedding as te  # noqa: E402

_MASK = 0xFFFFFFFF


def _mix32(h: int) -> int:
    """Murmur3 fmix32 on a Python int."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    return h ^ (h >> 16)


def naive_embed_text(text: str, dimensions: int = 384) -> np.ndarray:
    """The same features as embed_text, one Python loop iteration per token and per trigram."""
    table = te._TABLE
    data = (" " + text.lower() + " ").encode("utf-8", "surrogatepass").translate(table)
    data = re.sub(b" +", b" ", data)
    vector = [0.0] * dimensions

    def add(h: int, weight: float) -> None:
        bucket = ((h >> 16) * dimensions) >> 16 if dimensions <= 1 << 16 else (h * dimensions) >> 32
        vector[bucket] += -weight if h & 1 else weight

    for word in data.split():
        h, power = 0, 1
        for byte in word:
            h = (h + byte * power) & _MASK
            power = (power * te._P) & _MASK
        add(_mix32(h ^ int(te._WORD_SEED)), te.WORD_WEIGHT)
    for i in range(len(data) - 2):
        gram = data[i] | data[i + 1] << 8 | data[i + 2] << 16
        add(_mix32(gram ^ int(te._TRIGRAM_SEED)), te.TRIGRAM_WEIGHT)
    out = np.array(vector)
    norm = np.linalg.norm(out)
    return (out / norm if norm else out).astype(np.float32)


def generated_text(size: int, seed: int = 7) -> str:
    """Deterministic English-like prose of about `size` characters."""
    rng = np.random.default_rng(seed)
    syllables = ["ka", "ter", "on", "mi", "sa", "lo", "ver", "an", "di", "po", "re", "us", "ti", "gen"]
    vocabulary = ["".join(rng.choice(syllables, rng.integers(1, 4))) for _ in range(20000)]
    vocabulary[:10] = ["the", "of", "and", "to", "in", "a", "is", "that", "for", "it"]
    # Zipf-like word frequencies, like real text.
    weights = 1.0 / np.arange(1, len(vocabulary) + 1)
    words = rng.choice(vocabulary, size=size // 5, p=weights / weights.sum())
    # About one sentence in 12 words and one paragraph in 80, as in prose.
    punctuation = rng.choice(["", ",", ".", ".\n\n"], size=words.size, p=[0.8575, 0.06, 0.07, 0.0125])
    text = " ".join(np.char.add(words, punctuation).tolist())
    return text[:size]


def _best(fn, repeat: int) -> float:
    """Best wall time of `repeat` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _image_bytes(fmt: str, width: int, height: int) -> bytes:
    """A photo-like test image: gradients, shapes and noise."""
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(3)
    rgb = np.stack([x * 255 // width, y * 255 // height, ((x // 40 + y // 40) % 2) * 200], axis=-1)
    rgb = np.clip(rgb + rng.normal(0, 12, rgb.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def _wav_bytes(rate: int, channels: int, seconds: float) -> bytes:
    """A 16-bit PCM WAV of a chirp with noise."""
    import struct

    t = np.arange(int(rate * seconds)) / rate
    signal = 0.4 * np.sin(2 * math.pi * (200 + 300 * t) * t) + 0.05 * np.random.default_rng(5).normal(size=t.size)
    frames = np.repeat((signal * 32767).astype("<i2")[:, None], channels, axis=1).tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(frames)) + frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _files_per_second(data: bytes, count: int) -> float:
    """extract() calls per second on the same file."""
    start = time.perf_counter()
    for _ in range(count):
        extract(data)
    return count / (time.perf_counter() - start)


def _report(label: str, value: float, unit: str, note: str = "") -> None:
    """One aligned result line."""
    print(f"{label:<52} {value:9.2f} {unit}{'  ' + note if note else ''}")


def main() -> None:
    """Run every benchmark and print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    text_size = 2_000_000 if args.quick else 20_000_000
    naive_size = 200_000 if args.quick else 1_000_000
    repeat = 2 if args.quick else 3

    text = generated_text(text_size)
    megabytes = len(text.encode()) / 1e6
    embed_text(text[:100_000])  # warm caches and lazy imports
    fast_rate = megabytes / _best(lambda: embed_text(text), repeat)
    _report(f"text embed_text, one {megabytes:.0f} MB text", fast_rate, "MB/s")

    chunks = [text[i : i + 1000] for i in range(0, len(text), 1000)]
    seconds = _best(lambda: embed_texts(chunks), repeat)
    _report(f"text embed_texts, {len(chunks)} chunks of 1000 chars", megabytes / seconds, "MB/s",
            f"({len(chunks) / seconds:,.0f} chunks/s)")

    document = text.encode()
    seconds = _best(lambda: extract(document), 1)
    _report(f"text extract() of the {megabytes:.0f} MB text, all stages", megabytes / seconds, "MB/s")

    piece = text[:naive_size]
    start = time.perf_counter()
    slow = naive_embed_text(piece)
    naive_rate = len(piece.encode()) / 1e6 / (time.perf_counter() - start)
    same = np.allclose(slow, embed_text(piece), atol=1e-6)
    _report(f"text naive pure-Python loop, {len(piece) / 1e6:.1f} MB", naive_rate, "MB/s", f"(same vector: {same})")
    _report("text embed_text speed-up over naive", fast_rate / naive_rate, "x")

    for fmt in ("PNG", "JPEG"):
        for width, height in ((640, 480), (1920, 1080)):
            data = _image_bytes(fmt, width, height)
            rate = _files_per_second(data, 5 if args.quick else 20)
            _report(f"image {fmt} {width}x{height} ({len(data) // 1024} KiB)", rate, "images/s")

    for sample_rate, channels in ((16000, 1), (44100, 2)):
        seconds_of_audio = 10.0
        data = _wav_bytes(sample_rate, channels, seconds_of_audio)
        rate = _files_per_second(data, 3 if args.quick else 10)
        _report(f"audio WAV {sample_rate} Hz x{channels}, {seconds_of_audio:.0f} s", rate, "files/s",
                f"({rate * seconds_of_audio:,.0f}x real time)")


if __name__ == "__main__":
    main()
