"""Hostile input: sniffing cost of hostile 64 KiB prefixes, the reported JSON, big transparent PNGs.

Run from the repository root:  python -m benchmarks.bench_hostile_input

Baselines measured in the same run: sniffing 64 KiB of ordinary prose, and the old backtracking Markdown link
pattern on the same "[" prefix at 8 and 16 KiB (quadratic: doubling the input quadruples its time).
"""
from __future__ import annotations

import io
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.extractors import extract, sniff_media_type  # noqa: E402
from benchmarks.bench_extractors import _best  # noqa: E402

OLD_LINK = re.compile(r"!?\[[^\]\n]+\]\([^)\s]+\)")
PROSE = (b"Rivers shape the land. They carry sediment to the sea and build deltas over time. " * 800)[:65536]
HOSTILE = {"[ x 64 KiB": b"[" * 65536, "[a]( x 16 Ki": b"[a](" * 16384, "![ x 32 Ki": b"![" * 32768,
           "{ x 64 KiB": b"{" * 65536, "65,535-digit number": b"[1" + b"1" * 65534, "** a x 21 Ki": b"**a" * 21845}


def png_peak_rss(width: int, height: int) -> str:
    """Peak resident memory of a fresh process extracting one transparent PNG of this size."""
    code = f"""
import io, resource
from PIL import Image
buffer = io.BytesIO(); Image.new("RGBA", ({width}, {height}), (10, 120, 200, 128)).save(buffer, "PNG")
data = buffer.getvalue()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from app.extractors import extract
extract(data)
print(len(data) // 1024, before // 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout.split()
    return f"{width}x{height} RGBA PNG ({out[0]} KiB): peak RSS {out[2]} MB (process before extracting: {out[1]} MB)"


def main() -> None:
    baseline = _best(lambda: sniff_media_type(PROSE), 3)
    print(f"sniff 64 KiB of prose (baseline): {baseline * 1000:.1f} ms")
    for name, data in HOSTILE.items():
        took = _best(lambda: sniff_media_type(data), 3)
        print(f"sniff {name:22s} {took * 1000:8.1f} ms  ratio vs prose {took / baseline:5.1f}x")
    old_8, old_16 = (_best(lambda n=n: OLD_LINK.search("[" * n), 1) for n in (8192, 16384))
    print(f"old link pattern on '[' x 8 KiB: {old_8:.2f} s, x 16 KiB: {old_16:.2f} s (ratio {old_16 / old_8:.1f}x: "
          f"quadratic; 64 KiB extrapolates to ~{old_16 * 16:.0f} s)")
    reported = json.dumps({"k" * 100_000: [0] * 2000}).encode()
    started = time.perf_counter()
    result = extract(reported)
    print(f"the reported {len(reported) // 1024} KiB JSON: {len(result.chunks)} chunks "
          f"(was 224,000) in {(time.perf_counter() - started) * 1000:.0f} ms")
    for size in ((4000, 2500), (8000, 5000)):
        print(png_peak_rss(*size))
    print(f"this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
