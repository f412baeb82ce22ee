"""Embedders, creating and deleting collections, the JSON-lines export, and vectors following object deletion."""
import dataclasses
import json

import numpy as np
from sqlalchemy import select

from app.collections import embedders
from app.db import session_scope
from app.models import Vector
from tests.helpers import assert_error, new_batch
from tests.collections.test_collections_api import DOCS, run_batch, search, uploaded, vector_count
from tests.fixture_files import make_pdf, make_png


def not_installed(monkeypatch, name="minilm-l6"):
    """Pretend this deployment lacks an optional embedder's packages."""
    missing = dataclasses.replace(embedders.EMBEDDERS[name], requires=("batchery_no_such_module",))
    monkeypatch.setitem(embedders.EMBEDDERS, name, missing)


def test_embedders_say_what_is_installed_and_where_it_runs(client, monkeypatch):
    listed = {e["name"]: e for e in client.get("/v1/embedders").get_json()["embedders"]}
    assert listed["hashing-384"] == {"name": "hashing-384", "dimensions": 384, "modalities": ["text", "image", "audio"],
                                     "available": True, "queue": "batchery"}
    assert listed["minilm-l6"]["queue"] == "batchery.semantic" and listed["minilm-l6"]["modalities"] == ["text"]
    not_installed(monkeypatch)
    listed = {e["name"]: e for e in client.get("/v1/embedders").get_json()["embedders"]}
    assert listed["minilm-l6"]["available"] is False and listed["hashing-384"]["available"] is True
    error = assert_error(client.post("/v1/collections", json={"collection_id": "sem", "embedder": "minilm-l6"}),
                         422, "validation_error")
    assert "not installed" in error["message"] and error["details"]["embedder"] == "minilm-l6"
    ids = uploaded(client, DOCS)
    response = client.post("/v1/batches", json={"collection_id": "sem", "object_ids": list(ids.values()),
                                                "embedder": "minilm-l6"})
    assert_error(response, 422, "validation_error")
    assert_error(client.get("/v1/collections/sem"), 404, "not_found")  # nothing half-written


def test_create_collection_then_conflicts(client, dispatched):
    created = client.post("/v1/collections", json={"collection_id": "notes"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["collection_id"], body["embedder"], body["dimensions"], body["vectors"]) == ("notes", "hashing-384",
                                                                                               384, 0)
    assert_error(client.post("/v1/collections", json={"collection_id": "notes"}), 409, "invalid_state")
    for bad in ({"collection_id": "x", "embedder": "word2vec"}, {"collection_id": "bad id!"}, {},
                {"collection_id": "y", "embedder": 7}, {"collection_id": "z", "extra": 1}):
        assert_error(client.post("/v1/collections", json=bad), 422, "validation_error")
    assert_error(client.get("/v1/collections/x"), 404, "not_found")
    ids = list(uploaded(client, DOCS).values())
    error = assert_error(client.post("/v1/batches", json={"collection_id": "notes", "object_ids": ids,
                                                          "embedder": "minilm-l6"}), 409, "invalid_state")
    assert error["details"]["embedder"] == "hashing-384"
    new_batch(client, ids, collection_id="notes", embedder="hashing-384")  # naming the same one is fine
    listed = client.get("/v1/collections").get_json()["collections"]
    assert [(c["collection_id"], c["embedder"]) for c in listed] == [("notes", "hashing-384")]


def test_delete_collection_removes_vectors_and_waits_for_running_batches(client, dispatched):
    ids = list(uploaded(client, DOCS).values())
    run_batch(client, ids)
    run_batch(client, ids, collection_id="kept")
    assert vector_count("docs") > 0
    queued = new_batch(client, ids, collection_id="docs", force_overwrite=True)
    client.post(f"/v1/batches/{queued['batch_id']}/submit")
    assert_error(client.delete("/v1/collections/docs"), 409, "invalid_state")
    assert vector_count("docs") > 0
    assert client.put(f"/v1/batches/{queued['batch_id']}/state", json={"state": "CANCELLED"}).status_code == 200
    assert client.delete("/v1/collections/docs").status_code == 204
    assert vector_count("docs") == 0 and vector_count("kept") > 0
    assert_error(client.get("/v1/collections/docs"), 404, "not_found")
    assert_error(client.delete("/v1/collections/docs"), 404, "not_found")
    assert_error(client.delete("/v1/collections/kept", headers={"X-Namespace": "other"}), 404, "not_found")
    recreated = client.post("/v1/collections", json={"collection_id": "docs"}).get_json()
    assert recreated["vectors"] == 0


def test_export_streams_one_line_per_chunk_with_its_vector(client, dispatched):
    ids = uploaded(client, {**DOCS, "pic.png": make_png(), "report.pdf": make_pdf()})
    run_batch(client, list(ids.values()))
    response = client.get("/v1/collections/docs/export.jsonl")
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson" and response.is_streamed
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    with session_scope() as session:
        rows = session.execute(select(Vector).where(Vector.collection_id == "docs").order_by(Vector.id)).scalars().all()
        expected = [(r.object_id, r.sha256, r.chunk_index, r.modality, r.text,
                     np.frombuffer(r.embedding, dtype="<f4")) for r in rows]
    assert len(lines) == len(expected) == vector_count() > len(ids)
    for line, (object_id, sha, chunk_index, modality, text, vector) in zip(lines, expected):
        assert set(line) == {"object_id", "filename", "sha256", "chunk_index", "page", "modality", "text", "vector"}
        assert (line["object_id"], line["sha256"], line["chunk_index"], line["modality"], line["text"]) == (
            object_id, sha, chunk_index, modality, text)
        assert np.array_equal(np.asarray(line["vector"], dtype=np.float32), vector)
    assert {line["modality"] for line in lines} == {"text", "image"}
    assert {line["page"] for line in lines if line["object_id"] == ids["report.pdf"]} >= {1, 2}
    assert client.get("/v1/collections/empty/export.jsonl").status_code == 404
    client.post("/v1/collections", json={"collection_id": "empty"})
    assert client.get("/v1/collections/empty/export.jsonl").get_data() == b""


def test_deleting_an_object_removes_its_vectors_unless_a_live_twin_holds_them(client, dispatched):
    originals = uploaded(client, DOCS)
    run_batch(client, list(originals.values()))
    run_batch(client, [originals["bread.txt"]], collection_id="other")
    twin = uploaded(client, {"bread-copy.txt": DOCS["bread.txt"]})["bread-copy.txt"]
    assert [r["status"] for r in run_batch(client, [twin])] == ["SKIPPED"]  # same bytes: now also "there"
    before = client.get("/v1/collections/docs").get_json()

    assert client.delete(f"/v1/objects/{originals['harbour.txt']}").status_code == 204
    hits = search(client, "The harbour was quiet in the early morning.").get_json()["hits"]
    assert originals["harbour.txt"] not in {h["object_id"] for h in hits}
    after = client.get("/v1/collections/docs").get_json()
    assert after["documents"] == before["documents"] - 1 and after["index_signature"] != before["index_signature"]

    assert client.delete(f"/v1/objects/{originals['bread.txt']}").status_code == 204
    with session_scope() as session:
        owners = dict(session.execute(select(Vector.collection_id, Vector.object_id)
                                      .where(Vector.sha256 == client.get(f"/v1/objects/{twin}").get_json()["sha256"]))
                      .all())
    # docs: the twin was batched there, so it inherits the vectors; other: nobody else holds them there.
    assert owners == {"docs": twin}
    top = search(client, "Sourdough bread needs a lively starter").get_json()["hits"][0]
    assert (top["object_id"], top["filename"]) == (twin, "bread-copy.txt")
