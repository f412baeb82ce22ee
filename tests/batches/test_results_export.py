"""GET /v1/batches/{id}/results.jsonl: streamed NDJSON in keyset pages."""
import json

from app.batches import results
from tests.helpers import assert_error, new_batch, text_objects, upload
from tests.batches.test_batches_api import run_items


def test_results_jsonl_has_every_item_in_batch_order_like_the_paged_results(client, dispatched):
    ids = text_objects(client, 7)
    bad = upload(client, {"x.zip": b"PK\x03\x04" + b"\x00" * 40}).get_json()["objects"][0]["object_id"]
    batch = new_batch(client, ids + [bad])
    client.post(f"/v1/batches/{batch['batch_id']}/submit")
    run_items(batch["batch_id"])
    response = client.get(f"/v1/batches/{batch['batch_id']}/results.jsonl")
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    assert response.is_streamed
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    paged = client.get(f"/v1/batches/{batch['batch_id']}/results?limit=500").get_json()["results"]
    assert lines == paged and [row["object_id"] for row in lines] == ids + [bad]
    assert lines[-1]["status"] == "FAILED" and lines[-1]["error"]["type"] == "format_error"


def test_results_jsonl_pages_cover_the_batch_exactly_once(client, dispatched):
    ids = text_objects(client, 11)
    batch = new_batch(client, ids)
    chunks = list(results.result_lines("default", batch["batch_id"], page_size=3))
    assert len(chunks) == 4   # 3 + 3 + 3 + 2: keyset pages, never the whole batch at once
    assert [json.loads(line)["object_id"] for chunk in chunks for line in chunk.splitlines()] == ids


def test_results_jsonl_of_an_unknown_batch_is_the_404_envelope(client):
    assert_error(client.get("/v1/batches/bat_missing/results.jsonl"), 404, "not_found")
