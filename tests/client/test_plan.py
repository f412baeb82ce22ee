"""Ingest planning: every request and batch under every limit, the same plan on every run, duplicates once."""
from pathlib import Path

from app.client.plan import FORM_FIELDS, LocalFile, hash_file, pack, walk

LIMITS = {"max_batch_objects": 7, "max_batch_bytes": 10_000, "max_file_bytes": 3_000, "max_content_length": 5_000,
          "max_multipart_parts": 5, "max_metadata_bytes": None, "max_item_chunks": None}


def files(sizes: list[int]) -> list[LocalFile]:
    return [LocalFile(Path(f"f{n}"), f"f{n:03d}.txt", size, f"{n:064x}") for n, size in enumerate(sizes)]


def test_requests_and_batches_stay_under_every_limit():
    plan = pack(files([100] * 20 + [2_000] * 6 + [2_900]), LIMITS, files_per_request=50)
    assert len(plan.files) == 27 and not plan.too_large
    for batch in plan.batches:
        assert len(batch.files) <= 7 and sum(f.size for f in batch.files) <= 10_000
        for request in batch.requests:
            assert len(request.files) <= 5 - FORM_FIELDS
            assert sum(f.part_bytes() for f in request.files) + 1024 <= 5_000
    assert [f.name for f in plan.files] == sorted(f.name for f in plan.files)   # order kept


def test_too_large_files_and_repeated_contents_are_left_out_and_reported():
    given = files([10, 3_001, 10])
    copy = LocalFile(Path("copy"), "zz-copy.txt", 10, given[0].sha256)
    plan = pack(given + [copy], LIMITS)
    assert [f.name for f in plan.too_large] == ["f001.txt"] and [f.name for f in plan.duplicates] == ["zz-copy.txt"]
    assert [f.name for f in plan.files] == ["f000.txt", "f002.txt"]


def test_the_plan_and_its_keys_are_the_same_on_every_run():
    first, second = pack(files([100] * 30), LIMITS), pack(files([100] * 30), LIMITS)
    assert [b.key("c") for b in first.batches] == [b.key("c") for b in second.batches]
    assert [r.key("default") for b in first.batches for r in b.requests] == \
        [r.key("default") for b in second.batches for r in b.requests]
    assert first.batches[0].key("c") != first.batches[0].key("other")


def test_walk_skips_hidden_entries_and_names_files_by_relative_path(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    for name in ("a/b/x.txt", "a/y.txt", ".git/config", ".batchery-ingest-c.json", "z.txt"):
        (tmp_path / name).write_text(name)
    assert [name for _, name in walk([tmp_path])] == ["a/b/x.txt", "a/y.txt", "z.txt"]
    assert hash_file(tmp_path / "z.txt")[0] == 5
