"""Ingest speed of this checkout vs an earlier commit's, on the same files and machine, versions alternating.

Run from the repository root:
    python -m benchmarks.bench_ingest_history [--commit REV] [--files N] [--rounds R] [--postgresql ADMIN_URL]

Issue 11 set "ingest speed of the default embedder within 10% of today's" when it was filed, at commit
885c695 (the default REV): this compares the same work through both versions. The earlier tree is taken
with `git archive` into a temporary directory; each round runs each version in a fresh process from its own
tree (benchmarks/ingest_driver.py: its API in-process, its worker with WORKER_CONCURRENCY processes, a fresh
SQLite file or, with --postgresql, a fresh PostgreSQL database, and a private Redis), with `hashing-384`
(the only embedder then, the default now) and N small files of real prose (as bench_pipeline --index:
≈ 1.6 KB each). Which version goes first alternates.
Prints each round's items/s and the worker's CPU per item, and the medians' ratio.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.embedded import PrivateRedis  # noqa: E402
from benchmarks.bench_ingest_index import postgres_databases  # noqa: E402
from benchmarks.bench_pipeline import real_texts  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / "benchmarks" / "ingest_driver.py"
FILED = "885c695"  # main when issue 11 was filed (2026-11-23)


def extract_tree(rev: str, into: Path) -> Path:
    """The source tree of `rev`, from git, under `into`."""
    archive = into / "tree.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), rev], check=True)
    tree = into / rev
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def run_driver(tree: Path, files: Path, count: int, postgresql: str | None) -> dict:
    """One timed batch through the version in `tree`, in a fresh interpreter whose imports come from that tree."""
    redis = PrivateRedis()
    database = f"batchery_history_{os.getpid()}"
    try:
        url = postgres_databases(postgresql, [database])[0] if postgresql else ""
        boot = ("import runpy, sys; sys.path.insert(0, '.'); sys.argv = sys.argv[1:];"
                " runpy.run_path(sys.argv[0], run_name='__main__')")
        env = {**os.environ, "PYTHONPATH": str(tree)}
        done = subprocess.run([sys.executable, "-c", boot, str(DRIVER), str(files), redis.url, str(count), url],
                              cwd=tree, env=env, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise SystemExit(f"the driver failed in {tree}:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        redis.stop()
        if postgresql:
            postgres_databases(postgresql, [database], drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default=FILED, help=f"the earlier version ({FILED}: when issue 11 was filed)")
    parser.add_argument("--files", type=int, default=2000, help="files in each timed batch (2,000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each running both versions (3)")
    parser.add_argument("--postgresql", metavar="ADMIN_URL", help="a fresh database next to this one, not SQLite")
    args = parser.parse_args()
    if subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{args.commit}^{{commit}}"],
                      capture_output=True).returncode != 0:
        print(f"skipped: commit {args.commit} is not in this clone's history (a shallow clone?): git fetch --unshallow")
        return
    with tempfile.TemporaryDirectory(prefix="batchery-history-") as tmp:
        files = Path(tmp) / "files"
        files.mkdir()
        for name, data in real_texts(args.files + 300, "h"):
            (files / f"{int(name.split('-')[1].split('.')[0]):06d}.txt").write_bytes(data)
        trees = {"now": ROOT, args.commit: extract_tree(args.commit, Path(tmp))}
        runs = {label: [] for label in trees}
        print(f"{args.files:,} small files of real prose a batch, hashing-384,"
              f" {'PostgreSQL' if args.postgresql else 'SQLite'}, "
              f"{os.environ.get('WORKER_CONCURRENCY', '2')} worker processes; cores: {os.cpu_count()}")
        for n in range(args.rounds):
            order = list(trees) if n % 2 == 0 else list(trees)[::-1]
            for label in order:
                result = run_driver(trees[label], files, args.files, args.postgresql)
                runs[label].append(result)
                print(f"round {n}: {label:>8} {result['items_per_s']:7.0f} items/s"
                      f" {result['cpu_ms_per_item']:6.2f} ms of worker CPU per item   (load {os.getloadavg()[0]:.1f})",
                      flush=True)
        rate = {label: statistics.median(r["items_per_s"] for r in results) for label, results in runs.items()}
        cpu = {label: statistics.median(r["cpu_ms_per_item"] for r in results) for label, results in runs.items()}
        print(f"median of {args.rounds} rounds: now {rate['now']:.0f} items/s ({cpu['now']:.2f} ms CPU per item),"
              f" {args.commit} {rate[args.commit]:.0f} items/s ({cpu[args.commit]:.2f} ms):"
              f" {rate['now'] / rate[args.commit]:.2f}x items/s, {cpu[args.commit] / cpu['now']:.2f}x by CPU"
              f" (issue 11's target: >= 0.9x of the speed when it was filed)")


if __name__ == "__main__":
    main()
