"""WAV audio: one spectral summary vector per file, with stdlib wave + NumPy.

PCM 8 (unsigned), 16, 24 and 32-bit, any channel count (mixed to mono), any
rate. Framing: 25 ms Hann windows every 10 ms, power spectrum, 40 triangular
mel bands over 0-8000 Hz (fixed in Hz, so files at different rates stay
comparable; bands above a low rate's Nyquist are simply empty), log energy in
dB relative to full scale with a -100 dB floor. Features: per-band mean minus
the overall mean (spectral shape), per-band std over time, and six global
stats (mean and std of frame level, mean zero-crossing rate, mean and std of
spectral centroid, fraction of near-silent frames); each group L2-normalised,
then mapped to `dimensions` with the fixed +-1 projection and L2-normalised.

Decisions:
- Non-PCM WAV (IEEE float, A-law, mu-law, ADPCM...) is format_error: a valid
  file we do not decode. WAVE_FORMAT_EXTENSIBLE with a PCM sub-format is
  accepted (many tools write 24-bit that way; Python 3.11's wave rejects it,
  so the tag is rewritten to plain PCM in a copy of the header).
- A bad header (including a sample rate over MAX_RATE), a missing fmt/data
  chunk, or data shorter than the header announces (truncated) is
  corrupted_file.
- A WAV with zero frames succeeds with zero chunks; shorter than one window
  is zero-padded to one window.
"""
from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.extractors.base import Chunk, CorruptedFileError, FormatError
from app.extractors.hashing import l2_normalise, project

BANDS = 40
MAX_HZ = 8000.0
_FLOOR_DB = -100.0
_SEED = 0xA0D1
# Above any real recording rate; a larger header value is corruption, and
# would otherwise size the FFT (and its memory) from garbage.
MAX_RATE = 768_000
_SAMPLES_PER_BLOCK = 1 << 22
_PCM, _EXTENSIBLE = 0x0001, 0xFFFE


@dataclass(frozen=True)
class Signal:
    """Mono samples in [-1, 1] and their sample rate."""

    samples: np.ndarray
    rate: int


def _pcm_header(data: bytes) -> bytes:
    """The file with an EXTENSIBLE/PCM tag rewritten as PCM; FormatError for other encodings."""
    position = 12
    while position + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, position)
        if chunk_id == b"fmt ":
            if size < 16 or position + 8 + size > len(data):
                raise CorruptedFileError("WAV fmt chunk is too short")
            tag = struct.unpack_from("<H", data, position + 8)[0]
            if tag == _EXTENSIBLE and size >= 26:
                tag = struct.unpack_from("<H", data, position + 8 + 24)[0]  # sub-format GUID
                if tag == _PCM:
                    patched = bytearray(data)
                    struct.pack_into("<H", patched, position + 8, _PCM)
                    return bytes(patched)
            if tag != _PCM:
                raise FormatError(f"WAV encoding 0x{tag:04x} is not PCM")
            return data
        position += 8 + size + (size & 1)  # chunks are word-aligned
    raise CorruptedFileError("WAV has no fmt chunk")


def decode_wav(data: bytes, media_type: str = "audio/wav", budget: object = None) -> Signal:
    """Mono float32 samples of a PCM WAV file."""
    data = _pcm_header(data)
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
            frames = reader.getnframes()
            raw = reader.readframes(frames)
    except (wave.Error, EOFError, struct.error, ValueError) as exc:
        raise CorruptedFileError(f"WAV header does not decode: {exc}") from exc
    if channels < 1 or not 1 <= rate <= MAX_RATE or width not in (1, 2, 3, 4):
        raise CorruptedFileError(f"WAV header is invalid: {channels} channels, {width} bytes, {rate} Hz")
    if len(raw) < frames * channels * width:
        raise CorruptedFileError(f"WAV is truncated: {len(raw)} of {frames * channels * width} data bytes")
    samples = _to_float(np.frombuffer(raw, dtype=np.uint8), width)
    return Signal(samples.reshape(-1, channels).mean(axis=1, dtype=np.float32), rate)


def _to_float(raw: np.ndarray, width: int) -> np.ndarray:
    """Little-endian PCM samples of `width` bytes as floats in [-1, 1]."""
    if width == 1:
        return (raw.astype(np.float32) - 128.0) / 128.0  # 8-bit WAV is unsigned
    if width == 3:
        triples = raw.reshape(-1, 3).astype(np.int32)
        # Put the 24 bits at the top of an int32 so the sign comes for free.
        values = (triples[:, 0] << 8) | (triples[:, 1] << 16) | (triples[:, 2] << 24)
        return values.astype(np.float32) / np.float32(2**31)
    dtype = {2: "<i2", 4: "<i4"}[width]
    return raw.view(dtype).astype(np.float32) / np.float32(2 ** (8 * width - 1))


@lru_cache(maxsize=32)
def _mel_filters(rate: int, n_fft: int) -> np.ndarray:
    """(n_fft // 2 + 1, BANDS) triangular mel filter bank over 0..MAX_HZ."""
    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges_hz = 700.0 * (10 ** (np.linspace(0.0, to_mel(np.array(MAX_HZ)), BANDS + 2) / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)[:, None]
    lower, centre, upper = edges_hz[:-2], edges_hz[1:-1], edges_hz[2:]
    rising = (freqs - lower) / (centre - lower)
    falling = (upper - freqs) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def audio_features(signal: Signal) -> np.ndarray:
    """Per-band mean/std of log mel energies plus global stats, groups normalised (86 floats)."""
    rate = signal.rate
    window = max(2, round(0.025 * rate))
    hop = max(1, round(0.010 * rate))
    n_fft = 1 << (window - 1).bit_length()
    samples = signal.samples
    if samples.size < window:
        samples = np.pad(samples, (0, window - samples.size))
    frames = np.lib.stride_tricks.sliding_window_view(samples, window)[::hop]
    hann = np.hanning(window + 2)[1:-1].astype(np.float32)  # no zero end-points
    filters = _mel_filters(rate, n_fft)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    # Full-scale sine -> about 0 dB: divide by the window's power gain.
    scale = 4.0 / (hann.sum() ** 2)
    band_sum = np.zeros(BANDS)
    band_sq = np.zeros(BANDS)
    level, zcr, centroid = [], [], []
    # Blocks of frames bound the memory an hour-long file needs.
    per_block = max(1, _SAMPLES_PER_BLOCK // n_fft)
    for start in range(0, len(frames), per_block):
        block = frames[start : start + per_block]
        power = np.abs(np.fft.rfft(block * hann, n=n_fft, axis=1)) ** 2 * scale
        log_mel = np.maximum(10.0 * np.log10(power @ filters + 1e-12), _FLOOR_DB)
        band_sum += log_mel.sum(axis=0)
        band_sq += (log_mel**2).sum(axis=0)
        rms = np.sqrt(np.mean(block.astype(np.float64) ** 2, axis=1))
        level.append(np.maximum(20.0 * np.log10(rms + 1e-12), _FLOOR_DB))
        zcr.append(np.mean(np.signbit(block[:, 1:]) != np.signbit(block[:, :-1]), axis=1))
        total = power.sum(axis=1)
        centroid.append(np.divide(power @ freqs, total, out=np.zeros_like(total), where=total > 0))
    count = len(frames)
    mean = band_sum / count
    std = np.sqrt(np.maximum(band_sq / count - mean**2, 0.0))
    level_all, centroid_all = np.concatenate(level), np.concatenate(centroid) / MAX_HZ
    stats = np.array([
        level_all.mean() / -_FLOOR_DB,
        level_all.std() / -_FLOOR_DB,
        np.concatenate(zcr).mean(),
        centroid_all.mean(),
        centroid_all.std(),
        np.mean(level_all < -60.0),
    ])
    shape = mean - mean.mean()
    return np.concatenate([l2_normalise(shape), l2_normalise(std), l2_normalise(stats)])


def chunk_signal(signal: Signal) -> list[Signal]:
    """The whole file is one chunk; a file with no frames has none."""
    return [signal] if signal.samples.size else []


def embed_audio(signals: list[Signal], dimensions: int) -> list[Chunk]:
    """One chunk per decoded signal."""
    return [Chunk(i, project(audio_features(s), dimensions, _SEED)) for i, s in enumerate(signals)]
