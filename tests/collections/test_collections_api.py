"""Collections and search over the API, with items processed by the services in-process (SQLite, fakeredis)."""
from sqlalchemy import func, select

from app.objects import storage
from app.db import session_scope
from app.models import BatchItem, StoredObject, Vector
from app.batches import items, lifecycle
from tests.helpers import assert_error, new_batch, upload
from tests.fixture_files import make_exe, make_pdf, make_png, make_wav

DOCS = {
    "harbour.txt": b"The harbour was quiet in the early morning. Fishing boats rocked at their moorings.",
    "alps.md": b"# Alps\n\nGlaciers carve deep valleys between the highest peaks of the Alps.",
    "bread.txt": b"Sourdough bread needs a lively starter, patience and a very hot oven.",
}


def run_batch(client, object_ids, collection_id="docs", **fields):
    """Create, submit and process a batch in-process (what the worker's chord does); returns its results."""
    batch = new_batch(client, object_ids, collection_id=collection_id, **fields)
    client.post(f"/v1/batches/{batch['batch_id']}/submit", json={"include_processing_history": True})
    with session_scope() as session:
        ids = list(session.scalars(select(BatchItem.id).where(BatchItem.batch_id == batch["batch_id"])
                                   .order_by(BatchItem.id)))
    lifecycle.start_processing(batch["batch_id"], "default")
    for item_id in ids:
        items.process_item(item_id, "default")
    lifecycle.finalize_batch(batch["batch_id"], "default")
    return client.get(f"/v1/batches/{batch['batch_id']}/results").get_json()["results"]


def uploaded(client, files):
    """Upload files; returns {filename: object_id}."""
    response = upload(client, files)
    assert response.status_code == 201, response.get_json()
    return {o["filename"]: o["object_id"] for o in response.get_json()["objects"]}


def vector_count(collection_id="docs"):
    """Vectors stored in a collection."""
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Vector).where(Vector.collection_id == collection_id))


def search(client, query, collection_id="docs", **body):
    """POST a search; returns the response."""
    return client.post(f"/v1/collections/{collection_id}/search", json={"query": query, **body})


def test_collection_counts_and_signature_move_with_writes(client, dispatched):
    ids = uploaded(client, DOCS)
    new_batch(client, list(ids.values()))
    empty = client.get("/v1/collections/docs").get_json()
    assert empty["documents"] == 0 and empty["vectors"] == 0 and empty["dimensions"] == 384
    results = run_batch(client, list(ids.values()))
    assert {r["status"] for r in results} == {"SUCCEEDED"}
    full = client.get("/v1/collections/docs").get_json()
    assert full["documents"] == 3 and full["vectors"] == sum(r["chunks"] for r in results) == vector_count()
    assert full["index_signature"] != empty["index_signature"] and full["updated_at"] > empty["updated_at"]
    assert set(full) >= {"collection_id", "documents", "vectors", "dimensions", "index_signature", "updated_at"}


def test_collections_are_listed_by_id_and_scoped_to_the_namespace(client, dispatched):
    ids = list(uploaded(client, DOCS).values())
    for name in ("zeta", "alpha", "mid"):
        new_batch(client, ids, collection_id=name)
    first = client.get("/v1/collections?limit=2").get_json()
    assert [c["collection_id"] for c in first["collections"]] == ["alpha", "mid"] and first["next_cursor"]
    rest = client.get(f"/v1/collections?limit=2&cursor={first['next_cursor']}").get_json()
    assert [c["collection_id"] for c in rest["collections"]] == ["zeta"] and rest["next_cursor"] is None
    other = {"X-Namespace": "other"}
    assert client.get("/v1/collections", headers=other).get_json()["collections"] == []
    assert_error(client.get("/v1/collections/alpha", headers=other), 404, "not_found")
    assert_error(client.post("/v1/collections/alpha/search", json={"query": "x"}, headers=other), 404, "not_found")
    assert_error(client.get("/v1/collections/nope"), 404, "not_found")


def test_exact_sentence_finds_its_document_first(client, dispatched):
    ids = uploaded(client, {**DOCS, "report.pdf": make_pdf()})
    run_batch(client, list(ids.values()))
    hits = search(client, "Glaciers carve deep valleys between the highest peaks of the Alps.").get_json()["hits"]
    assert hits[0]["object_id"] == ids["alps.md"] and "Glaciers carve deep valleys" in hits[0]["text"]
    assert hits[0]["score"] > 0.9 and hits[0]["score"] > hits[1]["score"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    page = search(client, "The French Revolution began in 1789 and reshaped European politics.").get_json()["hits"]
    assert (page[0]["object_id"], page[0]["chunk_index"], page[0]["filename"]) == (ids["report.pdf"], 1, "report.pdf")
    assert len(search(client, "boats", top_k=2).get_json()["hits"]) == 2


def test_text_queries_answer_from_text_unless_modalities_ask_for_more(client, dispatched):
    ids = uploaded(client, {"pic.png": make_png(), "tone.wav": make_wav(), **DOCS})
    run_batch(client, list(ids.values()), collection_id="media")
    for mode in ("hybrid", "vector", "lexical"):
        found = search(client, "blue square tone", collection_id="media", mode=mode).get_json()
        assert found["mode"] == mode and {h["modality"] for h in found["hits"]} <= {"text"}, found
    media = search(client, "anything at all", collection_id="media", mode="vector",
                   modalities=["image", "audio"]).get_json()["hits"]
    assert sorted(h["object_id"] for h in media) == sorted([ids["pic.png"], ids["tone.wav"]])
    assert {(h["modality"], h["text"], h["page"]) for h in media} == {("image", None, None), ("audio", None, None)}


def test_empty_collection_and_wordless_query_have_no_hits(client, dispatched):
    new_batch(client, list(uploaded(client, DOCS).values()), collection_id="fresh")
    assert search(client, "harbour", collection_id="fresh").get_json() == {"mode": "hybrid", "hits": []}
    run_batch(client, list(uploaded(client, {"x.txt": b"some words here"}).values()))
    for mode in ("hybrid", "lexical", "vector"):
        assert search(client, "?!  ...", mode=mode).get_json() == {"mode": mode, "hits": []}


def test_search_requests_are_validated(client, dispatched):
    new_batch(client, list(uploaded(client, DOCS).values()))
    for body in ({"query": "x", "top_k": 0}, {"query": "x", "top_k": 101}, {"query": "x", "top_k": "many"},
                 {"query": ""}, {"query": "   \n"}, {}, {"query": "x", "extra": 1}, {"query": 5},
                 {"query": "x", "mode": "fuzzy"}, {"query": "x", "modalities": ["video"]},
                 {"query": "x", "modalities": []}, {"query": "x", "modalities": "text"}):
        error = assert_error(client.post("/v1/collections/docs/search", json=body), 422, "validation_error")
        assert error["details"]["fields"], body
    assert_error(client.post("/v1/collections/docs/search", data="{nope", content_type="application/json"),
                 400, "validation_error")


def test_same_content_is_skipped_and_force_overwrite_replaces_it(client, dispatched):
    run_batch(client, list(uploaded(client, DOCS).values()))
    before = client.get("/v1/collections/docs").get_json()
    copies = uploaded(client, {f"copy-{name}": content for name, content in DOCS.items()})
    assert {r["status"] for r in run_batch(client, list(copies.values()))} == {"SKIPPED"}
    after_skip = client.get("/v1/collections/docs").get_json()
    assert (after_skip["vectors"], after_skip["index_signature"]) == (before["vectors"], before["index_signature"])
    forced = run_batch(client, list(copies.values()), force_overwrite=True)
    assert {r["status"] for r in forced} == {"SUCCEEDED"}
    after = client.get("/v1/collections/docs").get_json()
    assert after["vectors"] == before["vectors"] == vector_count() and after["documents"] == 3
    assert after["index_signature"] != before["index_signature"]
    with session_scope() as session:
        owners = set(session.scalars(select(Vector.object_id).where(Vector.collection_id == "docs")))
    assert owners == set(copies.values())


def test_delete_originals_removes_files_after_success_and_later_batches_say_why(client, dispatched):
    ids = uploaded(client, {"keep.txt": b"kept because a draft needs it", **DOCS})
    waiting = new_batch(client, [ids["keep.txt"]], collection_id="later")
    results = run_batch(client, list(ids.values()), delete_originals=True)
    assert {r["status"] for r in results} == {"SUCCEEDED"}
    with session_scope() as session:
        objects = {o.id: o for o in session.scalars(select(StoredObject))}
    for name, object_id in ids.items():
        still_there = objects[object_id].storage_path in set(storage.stored_before(float("inf")))
        assert still_there == (name == "keep.txt"), name
        body = client.get(f"/v1/objects/{object_id}").get_json()
        assert body["stored"] is (name == "keep.txt")
    assert client.get(f"/v1/batches/{waiting['batch_id']}").get_json()["delete_originals"] is False

    again = run_batch(client, [ids["alps.md"]], collection_id="docs")
    assert again[0]["status"] == "SKIPPED"  # its vectors are still in that collection
    elsewhere = run_batch(client, [ids["alps.md"]], collection_id="elsewhere")[0]
    assert elsewhere["status"] == "FAILED" and elsewhere["error"]["type"] == "processing_error"
    assert "deleted" in elsewhere["error"]["message"] and "delete_originals" in elsewhere["error"]["message"]


def test_processing_history_records_each_stage(client, dispatched):
    ids = uploaded(client, {"a.txt": b"alpha beta gamma", "bin.exe": make_exe()})
    results = {r["filename"]: r for r in run_batch(client, list(ids.values()))}
    stages = results["a.txt"]["processing_history"]
    assert [s["name"] for s in stages] == ["read", "decode", "chunk", "embed", "store"]
    assert all(s["outcome"] == "ok" and s["duration_ms"] >= 0 and s["attempt"] == 1 for s in stages), stages
    failed = results["bin.exe"]
    assert failed["error"]["type"] == "format_error"
    assert [(s["name"], s["outcome"]) for s in failed["processing_history"]] == [("read", "ok"), ("decode", "error")]
