"""Small real files generated as bytes, for extractor, API and integration tests.

PNG, PDF and WAV are written by hand (struct + zlib) so the tests do not use
the decoder under test to produce its own input; JPEG is encoded with Pillow.
"""
from __future__ import annotations

import gzip
import io
import json
import math
import struct
import textwrap
import zipfile
import zlib

PDF_PAGES = [
    "Photosynthesis converts light energy into chemical energy in plants.",
    "The French Revolution began in 1789 and reshaped European politics.",
    "Neural networks learn weights by gradient descent on a loss function.",
]


def make_text() -> bytes:
    """Plain UTF-8 prose in two paragraphs."""
    return (
        b"The harbour was quiet in the early morning. Fishing boats rocked gently at their moorings.\n\n"
        b"By noon the market was full of traders selling fish, bread and fruit to visitors.\n"
    )


def make_text_utf8_bom() -> bytes:
    """Plain text with a UTF-8 byte-order mark and non-ASCII letters."""
    return b"\xef\xbb\xbf" + "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e is a French dessert.\n".encode()


def make_text_utf16() -> bytes:
    """Plain text in UTF-16 with a byte-order mark."""
    return "Gr\u00fc\u00dfe aus M\u00fcnchen, the Bavarian capital.\n".encode("utf-16")


def make_markdown() -> bytes:
    """A small README-style Markdown document."""
    return (
        b"# Batchery\n\nTurns files into **vector embeddings**.\n\n"
        b"## Usage\n\n- upload files\n- start a batch\n- poll its status\n\n"
        b"See [the docs](https://example.com/docs) for more.\n\n```bash\nbatchery run\n```\n"
    )


def make_html() -> bytes:
    """An HTML page whose head, script and style must not be extracted."""
    return (
        b"<!DOCTYPE html><html><head><title>Hidden title</title>"
        b"<style>body { color: red; }</style><script>var secret = 'nope';</script></head>"
        b"<body><h1>Mountain weather</h1><p>Storms build quickly above the tree line.</p>"
        b"<p>Carry a jacket &amp; check the forecast.</p></body></html>"
    )


def make_csv() -> bytes:
    """A CSV table with a header and quoted fields."""
    return b'city,country,population\nParis,France,2100000\n"Berlin",Germany,3600000\nMadrid,Spain,3300000\n'


def make_json() -> bytes:
    """A JSON object with nested values."""
    items = [{"name": "hammer", "qty": 3}, {"name": "saw", "qty": 1}]
    return json.dumps({"title": "Inventory", "items": items}).encode()


def _pdf_escape(text: str) -> str:
    """Escape a string for a PDF literal string."""
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _pdf_content(text: str) -> bytes:
    """A content stream showing text in 12 pt Helvetica, one line per 80 characters."""
    lines = [line for paragraph in text.split("\n") for line in (textwrap.wrap(paragraph, 80) or [""])]
    shown = "\n".join(f"({_pdf_escape(line)}) Tj T*" for line in lines)
    return f"BT\n/F1 12 Tf\n14 TL\n72 720 Td\n{shown}\nET\n".encode("latin-1")


def make_pdf(pages: list[str] | None = None) -> bytes:
    """A minimal valid PDF with one page of Helvetica text per entry, and a correct xref."""
    pages = PDF_PAGES if pages is None else pages
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: f"<< /Type /Pages /Kids [{' '.join(f'{p} 0 R' for p in page_ids)}] /Count {len(pages)} >>".encode(),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    for page_id, text in zip(page_ids, pages):
        stream = _pdf_content(text)
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>"
        ).encode()
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _pixel(x: int, y: int, width: int, height: int, variant: int) -> tuple[int, int, int]:
    """Variant 0 a red-blue gradient, 1 the same slightly redder, 2 green vertical stripes."""
    if variant == 2:
        return (0, 255 if (x // 4) % 2 else 40, 0)
    return (min(255, 255 * x // max(1, width - 1) + 12 * variant), 30, 255 * y // max(1, height - 1))


def png_pixels(width: int, height: int, variant: int) -> list[list[tuple[int, int, int]]]:
    """Deterministic RGB pixel rows for make_png / make_jpeg."""
    return [[_pixel(x, y, width, height, variant) for x in range(width)] for y in range(height)]


def make_png(width: int = 32, height: int = 24, variant: int = 0) -> bytes:
    """A real RGB PNG (see png_pixels for the variants)."""
    raw = b"".join(b"\x00" + bytes(v for pixel in row for v in pixel) for row in png_pixels(width, height, variant))
    return _png(width, height, zlib.compress(raw))


def _png(width: int, height: int, idat: bytes) -> bytes:
    """An 8-bit RGB PNG with the given compressed image data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def make_jpeg(width: int = 32, height: int = 24, variant: int = 0) -> bytes:
    """A real baseline JPEG of the same pixels as make_png (encoded by Pillow)."""
    from PIL import Image

    image = Image.new("RGB", (width, height))
    image.putdata([pixel for row in png_pixels(width, height, variant) for pixel in row])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _riff_wave(fmt: bytes, frames: bytes) -> bytes:
    """A RIFF/WAVE file from a fmt chunk body and already-encoded frames."""
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(frames)) + frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _wav(rate: int, channels: int, bits: int, frames: bytes, format_tag: int = 1) -> bytes:
    """A plain (non-extensible) WAV around already-encoded frames."""
    block = channels * bits // 8
    return _riff_wave(struct.pack("<HHIIHH", format_tag, channels, rate, rate * block, block, bits), frames)


def _encode_sample(value: float, bits: int) -> bytes:
    """One little-endian PCM sample (8-bit is unsigned)."""
    if bits == 8:
        return bytes([max(0, min(255, round(128 + value * 127)))])
    scaled = round(value * (2 ** (bits - 1) - 1))
    return scaled.to_bytes(bits // 8, "little", signed=True)


def make_wav(rate: int = 16000, channels: int = 1, seconds: float = 0.5, bits: int = 16, freq: float = 440.0) -> bytes:
    """A PCM WAV of a tone (with one overtone); channel k is phase-shifted."""
    count = int(rate * seconds)
    frames = bytearray()
    for n in range(count):
        t = n / rate
        for channel in range(channels):
            value = 0.5 * math.sin(2 * math.pi * freq * t + channel) + 0.2 * math.sin(2 * math.pi * 3 * freq * t)
            frames += _encode_sample(value, bits)
    return _wav(rate, channels, bits, bytes(frames))


def make_float_wav() -> bytes:
    """A valid IEEE-float WAV (format tag 3): not PCM."""
    frames = b"".join(struct.pack("<f", 0.5 * math.sin(2 * math.pi * 440 * n / 8000)) for n in range(800))
    return _wav(8000, 1, 32, frames, format_tag=3)


def make_wav_extensible(sub_format: int = 1, bits: int = 24, rate: int = 16000) -> bytes:
    """A WAVE_FORMAT_EXTENSIBLE file (as many tools write 24-bit) with the given sub-format."""
    plain = make_wav(rate=rate, bits=bits, seconds=0.2)
    frames = plain[44:]
    block = bits // 8
    guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 1, rate, rate * block, block, bits, 22, bits, 0x4)
    return _riff_wave(fmt + struct.pack("<H", sub_format) + guid_tail, frames)


def make_png_header_only(width: int, height: int) -> bytes:
    """A PNG announcing width x height pixels with a tiny body: a decompression-bomb shape."""
    return _png(width, height, zlib.compress(b"\x00" * 64))


def make_truncated_pdf() -> bytes:
    """The first half of a valid PDF."""
    data = make_pdf()
    return data[: len(data) // 2]


def make_garbled_pdf() -> bytes:
    """A PDF header and %%EOF marker around bytes that are not PDF objects."""
    return b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"


def make_broken_png() -> bytes:
    """A PNG with a valid signature and header but an IDAT that is not zlib data."""
    return _png(32, 24, b"\x13\x37" * 200)


def make_truncated_jpeg() -> bytes:
    """The first third of a valid JPEG."""
    data = make_jpeg(64, 64)
    return data[: len(data) // 3]


def make_bad_wav() -> bytes:
    """RIFF/WAVE magic with a fmt chunk declaring zero channels."""
    return _riff_wave(struct.pack("<HHIIHH", 1, 0, 16000, 0, 0, 16), b"\x00" * 4)


def make_truncated_wav() -> bytes:
    """A WAV whose data chunk announces a second but holds a tenth of it."""
    full = make_wav(rate=8000, seconds=1.0)
    return full[: 44 + 1600]


def make_elf() -> bytes:
    """The start of a 64-bit x86-64 ELF executable."""
    header = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + struct.pack("<HHI", 2, 0x3E, 1)
    return header + b"\x00" * 40 + bytes(range(256))


def make_exe() -> bytes:
    """The start of a Windows PE executable (MZ header)."""
    dos_header = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
    return dos_header + b"PE\x00\x00" + bytes(range(64))


def make_zip() -> bytes:
    """A real zip archive holding one text file."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("notes.txt", "hello from inside a zip")
    return out.getvalue()


def make_gzip() -> bytes:
    """Gzip-compressed text."""
    return gzip.compress(b"hello " * 100, mtime=0)


def make_random_bytes(size: int = 4096) -> bytes:
    """Deterministic pseudo-random bytes (a linear congruential generator)."""
    state, out = 12345, bytearray()
    for _ in range(size):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(state >> 16 & 0xFF)
    return bytes(out)


def make_latin1_text() -> bytes:
    """Text in Latin-1, which is not valid UTF-8."""
    return "Le caf\u00e9 \u00e0 c\u00f4t\u00e9 de la gare ouvre t\u00f4t le matin.\n".encode("latin-1")


def make_bad_utf8_bom() -> bytes:
    """A UTF-8 byte-order mark followed by bytes that are not UTF-8."""
    return b"\xef\xbb\xbfvalid start then \xc3\x28 broken\n"


ALL_GOOD = {
    "text": (make_text, "text/plain", "text"),
    "text_utf8_bom": (make_text_utf8_bom, "text/plain", "text"),
    "text_utf16": (make_text_utf16, "text/plain", "text"),
    "markdown": (make_markdown, "text/markdown", "text"),
    "html": (make_html, "text/html", "text"),
    "csv": (make_csv, "text/csv", "text"),
    "json": (make_json, "application/json", "text"),
    "pdf": (make_pdf, "application/pdf", "text"),
    "png": (make_png, "image/png", "image"),
    "jpeg": (make_jpeg, "image/jpeg", "image"),
    "wav": (make_wav, "audio/wav", "audio"),
    "wav_8bit_stereo": (lambda: make_wav(rate=8000, channels=2, bits=8), "audio/wav", "audio"),
    "wav_24bit_44k": (lambda: make_wav(rate=44100, bits=24, seconds=0.25), "audio/wav", "audio"),
    "wav_32bit": (lambda: make_wav(rate=22050, bits=32, seconds=0.25), "audio/wav", "audio"),
}

ALL_BAD = {
    "truncated_pdf": (make_truncated_pdf, "corrupted_file"),
    "garbled_pdf": (make_garbled_pdf, "corrupted_file"),
    "broken_png": (make_broken_png, "corrupted_file"),
    "truncated_jpeg": (make_truncated_jpeg, "corrupted_file"),
    "bad_wav": (make_bad_wav, "corrupted_file"),
    "truncated_wav": (make_truncated_wav, "corrupted_file"),
    "latin1_text": (make_latin1_text, "corrupted_file"),
    "bad_utf8_bom": (make_bad_utf8_bom, "corrupted_file"),
    "float_wav": (make_float_wav, "format_error"),
    "elf": (make_elf, "format_error"),
    "exe": (make_exe, "format_error"),
    "zip": (make_zip, "format_error"),
    "gzip": (make_gzip, "format_error"),
    "random": (make_random_bytes, "format_error"),
}
