"""Real files through a real worker: typed results per media kind, search, dedup, force_overwrite, cache sweep."""
import hashlib
import io
import json

import pytest
from sqlalchemy import func, select

from app.db import session_scope
from app.extractors import extract
from app.models import Vector
from app.redis_client import key
from app.collections import search_cache
from app.collections.catalog import STATS
from tests.fixture_files import ALL_BAD, ALL_GOOD, PDF_PAGES
from tests.integration.test_pipeline import all_results, watch_until_finished

GOOD = {f"{name}.dat": make() for name, (make, _, _) in ALL_GOOD.items()}
BAD = {f"{name}.dat": make() for name, (make, _) in ALL_BAD.items()}


def upload(client, files: dict[str, bytes]) -> dict[str, str]:
    """Upload files in one request; returns {filename: object_id}."""
    parts = [(io.BytesIO(data), name) for name, data in files.items()]
    response = client.post("/v1/objects", data={"file": parts}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return {o["filename"]: o["object_id"] for o in response.get_json()["objects"]}


def run(client, object_ids, collection_id="media", **options):
    """Create and submit (with processing history) a batch, wait for it; returns (batch, {object_id: result})."""
    created = client.post("/v1/batches", json={"collection_id": collection_id, "object_ids": list(object_ids),
                                               **options})
    assert created.status_code == 201, created.get_json()
    batch_id = created.get_json()["batch_id"]
    client.post(f"/v1/batches/{batch_id}/submit", json={"include_processing_history": True})
    final, _ = watch_until_finished(client, batch_id)
    _, results = all_results(client, batch_id)
    return final, {r["object_id"]: r for r in results}


def vectors_by_content(collection_id="media") -> dict[str, int]:
    """Stored vector count per sha256 in a collection."""
    with session_scope() as session:
        rows = session.execute(select(Vector.sha256, func.count()).where(Vector.collection_id == collection_id)
                               .group_by(Vector.sha256)).all()
    return dict(rows)


def collection(client, collection_id="media"):
    """GET the collection."""
    response = client.get(f"/v1/collections/{collection_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture(scope="module")
def landed(stack):
    """Every fixture file, good and bad, in one batch."""
    ids = upload(stack["client"], {**GOOD, **BAD})
    final, results = run(stack["client"], ids.values())
    return {"ids": ids, "final": final, "results": results}


def test_every_fixture_lands_typed_or_fails_typed(landed):
    ids, results = landed["ids"], landed["results"]
    assert landed["final"]["status"] == "COMPLETED_WITH_ERRORS"
    stored = vectors_by_content()
    for (name, (_make, media_type, _modality)), filename in zip(ALL_GOOD.items(), GOOD):
        result = results[ids[filename]]
        expected_chunks = len(extract(GOOD[filename]).chunks)
        assert (result["status"], result["media_type"], result["dimensions"]) == ("SUCCEEDED", media_type, 384), name
        assert result["chunks"] == expected_chunks >= 1 and result["attempts"] == 1, name
        assert [s["name"] for s in result["processing_history"]] == ["read", "decode", "chunk", "embed", "store"]
    assert stored == {hashlib.sha256(data).hexdigest(): len(extract(data).chunks) for data in GOOD.values()}
    assert results[ids["pdf.dat"]]["chunks"] == len(PDF_PAGES)
    for (name, (_make, error_type)), filename in zip(ALL_BAD.items(), BAD):
        result = results[ids[filename]]
        assert (result["status"], result["error"]["type"], result["chunks"]) == ("FAILED", error_type, None), name
        assert result["error"]["message"] and result["processing_history"][-1]["outcome"] == "error", name


def test_vectors_keep_modality_and_text_only_for_documents(landed):
    with session_scope() as session:
        rows = session.execute(select(Vector.object_id, Vector.modality, Vector.text, Vector.chunk_index,
                                      Vector.dimensions).where(Vector.collection_id == "media")).all()
    by_object = {landed["ids"][f"{name}.dat"]: modality for name, (_, _, modality) in ALL_GOOD.items()}
    for object_id, modality, text, _index, dimensions in rows:
        assert modality == by_object[object_id] and dimensions == 384
        assert (text is not None) == (modality == "text")


def test_exact_sentence_of_a_document_comes_first(stack, landed):
    client, ids = stack["client"], landed["ids"]
    for sentence, filename in ((PDF_PAGES[2], "pdf.dat"),
                               ("Storms build quickly above the tree line.", "html.dat"),
                               ("By noon the market was full of traders selling fish, bread and fruit", "text.dat")):
        response = client.post("/v1/collections/media/search", json={"query": sentence, "top_k": 5})
        assert response.status_code == 200, response.get_json()
        hits = response.get_json()["hits"]
        assert hits[0]["object_id"] == ids[filename] and hits[0]["filename"] == filename, (sentence, hits[0])
        assert sentence.split(",")[0] in hits[0]["text"] and len(hits) == 5
    pdf_hit = client.post("/v1/collections/media/search", json={"query": PDF_PAGES[2]}).get_json()["hits"][0]
    assert pdf_hit["chunk_index"] == 2


def test_same_content_is_skipped_and_force_overwrite_leaves_one_set(stack, landed):
    client = stack["client"]
    before, vectors_before = collection(client), vectors_by_content()
    copies = upload(client, {f"copy-{name}": data for name, data in GOOD.items()})
    final, results = run(client, copies.values())
    assert final["status"] == "COMPLETED" and {r["status"] for r in results.values()} == {"SKIPPED"}
    assert all(r["processing_history"][0]["name"] == "dedup" for r in results.values())
    after_skip = collection(client)
    assert (after_skip["vectors"], after_skip["index_signature"]) == (before["vectors"], before["index_signature"])
    final, results = run(client, copies.values(), force_overwrite=True)
    assert final["status"] == "COMPLETED" and {r["status"] for r in results.values()} == {"SUCCEEDED"}
    after = collection(client)
    assert vectors_by_content() == vectors_before
    assert (after["vectors"], after["documents"]) == (before["vectors"], before["documents"])
    assert after["index_signature"] != before["index_signature"]
    with session_scope() as session:
        owners = set(session.scalars(select(Vector.object_id).where(Vector.collection_id == "media")))
    assert owners == set(copies.values())


def test_identical_files_in_one_batch_land_once(stack):
    client = stack["client"]
    twins = upload(client, {f"twin-{i}.txt": b"Six identical files about lighthouse lenses and fog horns." for i in range(6)})
    final, results = run(client, twins.values(), collection_id="twins")
    statuses = sorted(r["status"] for r in results.values())
    assert final["status"] == "COMPLETED" and statuses == ["SKIPPED"] * 5 + ["SUCCEEDED"]
    assert list(vectors_by_content("twins").values()) == [1]
    final, results = run(client, twins.values(), collection_id="twins", force_overwrite=True)
    assert {r["status"] for r in results.values()} == {"SUCCEEDED"}
    assert list(vectors_by_content("twins").values()) == [1]


def test_search_after_a_batch_sees_its_documents_never_a_stale_matrix(stack, landed):
    client = stack["client"]
    sentence = "Lighthouse keepers polished the great brass lens every single evening."
    before = collection(client)
    warm = client.post("/v1/collections/media/search", json={"query": sentence}).get_json()["hits"]
    assert warm and all(sentence not in (h["text"] or "") for h in warm)
    builds = search_cache.matrices.builds
    ids = upload(client, {"keepers.txt": f"Old coastal records.\n\n{sentence}".encode()})
    final, _ = run(client, ids.values())
    assert final["status"] == "COMPLETED"
    after = collection(client)
    assert after["index_signature"] != before["index_signature"]
    assert after["documents"] == before["documents"] + 1 and after["updated_at"] > before["updated_at"]
    hits = client.post("/v1/collections/media/search", json={"query": sentence}).get_json()["hits"]
    assert hits[0]["object_id"] == ids["keepers.txt"] and sentence in hits[0]["text"]
    assert search_cache.matrices.builds == builds + 1


def test_delete_originals_removes_stored_files_after_success(stack):
    client = stack["client"]
    ids = upload(client, {"gone-a.txt": b"Tidal pools hold anemones.", "gone-b.txt": b"Kelp forests sway."})
    files_before = {p for p in (stack["data_dir"] / "objects").rglob("*") if p.is_file()}
    final, results = run(client, ids.values(), collection_id="originals", delete_originals=True)
    assert final["status"] == "COMPLETED" and final["delete_originals"] is True
    files_after = {p for p in (stack["data_dir"] / "objects").rglob("*") if p.is_file()}
    assert len(files_before - files_after) == 2
    assert all(client.get(f"/v1/objects/{i}").get_json()["stored"] is False for i in ids.values())
    final, results = run(client, ids.values(), collection_id="elsewhere")
    assert final["status"] == "FAILED"
    assert {(r["error"]["type"], "delete_originals" in r["error"]["message"]) for r in results.values()} == {
        ("processing_error", True)}


def test_beat_sweep_task_drops_stale_counts_through_the_worker(stack, landed):
    from tasks.maintenance import sweep_search_cache

    client, redis = stack["client"], stack["redis"]
    collection(client)  # caches the current counts
    stats_key = key(STATS, "default", "media")
    current = json.loads(redis.get(stats_key))
    redis.set(key(STATS, "default", "twins"), json.dumps({**current, "collection_id": "twins", "signature": "0-old"}))
    assert sweep_search_cache.delay().get(timeout=30) >= 1
    assert redis.get(key(STATS, "default", "twins")) is None and redis.get(stats_key) is not None
