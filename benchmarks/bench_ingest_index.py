"""What the full-text index costs ingest: the worker's extract + store of real documents, with and without it.

Run from the repository root:  python -m benchmarks.bench_ingest_index  [--megabytes 6] [--rounds 2] [--postgresql URL]

Each round extracts real documents (benchmarks/search_corpus.py: man pages, pydoc, licenses, changelogs)
with the default embedder (`hashing-384`) and inserts each document's vectors in a transaction of its own
(the worker's `insert_vectors`), into a database whose lexical index is dropped ("before FTS": the
schema of revision 0001) and into ones with it (revision 0002: SQLite FTS5 triggers, PostgreSQL's
generated tsvector column + GIN), inserting row by row (an executemany, as before) and through the
worker's `insert_vectors` (now: multi-row on SQLite, still an executemany on PostgreSQL), and on SQLite with
FTS5's default merging (4 segments at a time, before revision 0004) or 16 at a time (now).
Rounds alternate (--rounds, 2 by default), so a change in the machine's load hits every variant; the best round of each
counts. The ratios are ingest throughput with the index over without.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from app import db, migrations  # noqa: E402
from app.batches.store import insert_vectors  # noqa: E402
from app.extractors import extract  # noqa: E402
from app.models import Vector  # noqa: E402
from app.settings import configure, load_settings  # noqa: E402
from benchmarks.bench_search_quality import corpus  # noqa: E402

NAMESPACE, COLLECTION = "bench", "ingest"
DROP_INDEX = {
    "sqlite": [f"DROP TRIGGER IF EXISTS vectors_fts_{t}" for t in ("insert", "delete", "update")],
    "postgresql": ["DROP INDEX IF EXISTS ix_vectors_lexemes", "ALTER TABLE vectors DROP COLUMN IF EXISTS lexemes"],
}


def documents(megabytes: float) -> list[bytes]:
    """Real documents, in corpus order, up to about `megabytes` of text."""
    chosen, size = [], 0
    for body in corpus().values():
        if size >= megabytes * 2**20:
            break
        chosen.append(body.encode())
        size += len(chosen[-1])
    return chosen


def row_by_row(session, rows: list[dict]) -> None:
    """The insert before issue 11's speed-up: an executemany, one statement (and FTS5 segment) per row."""
    session.execute(Vector.__table__.insert(), rows)


# FTS5's own merge settings, as revision 0002 left them (revision 0004 merges 16 segments at a time).
FTS5_DEFAULT_MERGING = {"sqlite": ["INSERT INTO vectors_fts(vectors_fts, rank) VALUES ('automerge', 4)",
                                   "INSERT INTO vectors_fts(vectors_fts, rank) VALUES ('crisismerge', 16)"]}
VARIANTS = (  # label, statements run after the upgrade (per dialect), insert
    ("without the lexical index (before FTS)", DROP_INDEX, insert_vectors),
    ("with the index, row-by-row insert (before)", {**FTS5_DEFAULT_MERGING, "postgresql": []}, row_by_row),
    ("with the index, merging 4 at a time (before)", FTS5_DEFAULT_MERGING, insert_vectors),
    ("with the index, insert_vectors (now)", {}, insert_vectors),
)


def variants_of(dialect: str) -> list[tuple]:
    """The variants that apply to the dialect (FTS5's merging is SQLite's)."""
    return [v for v in VARIANTS if not v[1] or dialect in v[1]]


def ingest(docs: list[bytes], url: str, setup: dict, insert) -> tuple[float, float, float, int]:
    """(wall s, CPU s of this process, of which extract CPU s, chunks) of extracting and storing every document."""
    db.dispose_engine()
    configure(load_settings({"DATABASE_URL": url}))
    migrations.upgrade()
    with db.session_scope() as session:
        for statement in setup.get(session.get_bind().dialect.name, []):
            session.execute(text(statement))
    wall, cpu, extracting, chunks = time.perf_counter(), time.process_time(), 0.0, 0
    for number, data in enumerate(docs):
        began = time.process_time()
        extraction = extract(data, dimensions=384)
        extracting += time.process_time() - began
        chunks += len(extraction.chunks)
        with db.session_scope() as session:
            insert(session, [{
                "namespace": NAMESPACE, "collection_id": COLLECTION, "sha256": f"doc-{number}",
                "object_id": f"obj_{number}", "batch_id": "bat_bench", "filename": "doc.txt",
                "chunk_index": chunk.index, "page": chunk.page, "modality": extraction.modality, "text": chunk.text,
                "dimensions": extraction.dimensions, "embedding": chunk.vector.astype("<f4").tobytes(),
            } for chunk in extraction.chunks])
    return time.perf_counter() - wall, time.process_time() - cpu, extracting, chunks


def postgres_databases(admin_url: str, names: list[str], drop: bool = False) -> list[str]:
    """Create (or drop) throwaway databases next to admin_url; their URLs."""
    import psycopg

    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' if drop else f'CREATE DATABASE "{name}"')
    base = plain.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return [f"{base}/{name}" for name in names]


def main() -> None:
    """Alternate rounds without and with the index on SQLite (and PostgreSQL if given); print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--postgresql", default=None, metavar="ADMIN_URL",
                        help="e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres (throwaway databases)")
    args = parser.parse_args()
    docs = documents(args.megabytes)
    megabytes = sum(map(len, docs)) / 2**20
    print(f"{len(docs):,} real documents, {megabytes:.1f} MiB of text; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        targets = {"sqlite": lambda i, name: f"sqlite:///{Path(tmp) / f'{i}-{name}.sqlite3'}"}
        names = ([f"batchery_bench_{uuid.uuid4().hex[:10]}" for _ in range(args.rounds * len(variants_of("postgresql")))]
                 if args.postgresql else [])
        if args.postgresql:
            urls = iter(postgres_databases(args.postgresql, names))
            targets["postgresql"] = lambda i, name: next(urls)
        try:
            for dialect, url_of in targets.items():
                best = {}
                variants = variants_of(dialect)
                for i in range(args.rounds):
                    for number, (label, setup, insert) in enumerate(variants):
                        result = ingest(docs, url_of(i, f"variant{number}"), setup, insert)
                        if label not in best or result[0] < best[label][0]:
                            best[label] = result
                print(f"\n{dialect}: {best[VARIANTS[0][0]][3]:,} chunks; best of {args.rounds} alternating rounds each")
                for label, _, _ in variants:
                    wall, cpu, extracting, _ = best[label]
                    print(f"  {label:<44} wall {wall:6.2f} s ({megabytes / wall:5.2f} MiB/s)  "
                          f"CPU here {cpu:6.2f} s (extract {extracting:5.2f} s, store {cpu - extracting:5.2f} s)")
                base = best[VARIANTS[0][0]]
                for label, _, _ in variants[1:]:
                    print(f"  throughput {label.split(', ')[1]:<28} / without the index: wall "
                          f"{base[0] / best[label][0]:.2f} x, CPU of this process {base[1] / best[label][1]:.2f} x")
        finally:
            db.dispose_engine()
            if names:
                postgres_databases(args.postgresql, names, drop=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
