"""The batch lifecycle endpoints, with a recorded dispatch and items processed by the services in-process."""
import io

import pytest

from app.batches import items, lifecycle
from app.db import session_scope
from app.models import BatchItem
from tests.helpers import assert_error, new_batch, text_objects, upload
from tests.fixture_files import make_elf


def run_items(batch_id, namespace="default"):
    """Process every pending item through the service, then finalize: what the worker's chord does."""
    with session_scope() as session:
        ids = [i.id for i in session.query(BatchItem).filter_by(batch_id=batch_id).order_by(BatchItem.id)]
    lifecycle.start_processing(batch_id, namespace)
    for item_id in ids:
        items.process_item(item_id, namespace)
    return lifecycle.finalize_batch(batch_id, namespace)


def test_create_json_batch_is_draft_with_progress(client):
    ids = text_objects(client, 3)
    batch = new_batch(client, ids, batch_name="first", metadata={"team": "x"})
    assert batch["batch_id"].startswith("bat_")
    assert batch["status"] == "DRAFT" and batch["task_id"] is None
    assert batch["progress"]["total"] == 3 and batch["progress"]["processed"] == 0
    assert batch["batch_name"] == "first" and batch["metadata"] == {"team": "x"}
    assert batch["namespace"] == "default" and batch["collection_id"] == "docs"
    assert batch["health"] == "healthy" and batch["status_message"].startswith("Draft with 3 objects")


def test_create_multipart_batch_stores_files_as_objects(client):
    data = {"collection_id": "papers", "file": [(io.BytesIO(b"alpha"), "a.txt"), (io.BytesIO(b"beta"), "b.md")],
            "metadata": '{"k": "v"}', "force_overwrite": "true"}
    response = client.post("/v1/batches", data=data, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    batch = response.get_json()
    assert batch["progress"]["total"] == 2 and batch["force_overwrite"] is True and batch["metadata"] == {"k": "v"}
    assert len(client.get("/v1/objects").get_json()["objects"]) == 2


def test_unknown_object_ids_refused_and_nothing_created(client):
    ids = text_objects(client, 1)
    error = assert_error(client.post("/v1/batches", json={"collection_id": "c", "object_ids": ids + ["obj_nope"]}),
                         404, "not_found")
    assert error["details"]["object_ids"] == ["obj_nope"]
    assert client.get("/v1/batches").get_json()["batches"] == []


def test_add_objects_only_in_draft_and_repeat_is_noop(client, dispatched):
    ids = text_objects(client, 4)
    batch = new_batch(client, ids[:2])
    again = client.post(f"/v1/batches/{batch['batch_id']}/objects", json={"object_ids": ids[1:3]})
    assert again.status_code == 200 and again.get_json()["progress"]["total"] == 3
    files = client.post(f"/v1/batches/{batch['batch_id']}/objects",
                        data={"file": [(io.BytesIO(b"new file"), "n.txt")]}, content_type="multipart/form-data")
    assert files.get_json()["progress"]["total"] == 4
    client.post(f"/v1/batches/{batch['batch_id']}/submit")
    assert_error(client.post(f"/v1/batches/{batch['batch_id']}/objects", json={"object_ids": ids[3:]}),
                 409, "invalid_state")


def test_submit_is_idempotent_and_dispatches_once(client, dispatched, fake_redis):
    batch = new_batch(client, text_objects(client, 2))
    first = client.post(f"/v1/batches/{batch['batch_id']}/submit")
    second = client.post(f"/v1/batches/{batch['batch_id']}/submit", json={"include_processing_history": True})
    assert first.status_code == second.status_code == 202
    assert first.get_json() == second.get_json()
    assert first.get_json()["status"] == "QUEUED" and first.get_json()["task_id"].startswith("tsk_")
    assert dispatched == [(batch["batch_id"], "default", first.get_json()["task_id"])]
    got = client.get(f"/v1/batches/{batch['batch_id']}").get_json()
    assert got["status"] == "QUEUED" and got["submitted_at"] and got["progress"]["current_stage"]["name"] == "dispatching"


def test_auto_submit_queues_at_creation(client, dispatched):
    batch = new_batch(client, text_objects(client, 1), auto_submit=True)
    assert batch["status"] == "QUEUED" and batch["task_id"]
    assert dispatched == [(batch["batch_id"], "default", batch["task_id"])]


def test_auto_submit_of_an_empty_batch_is_422_and_creates_nothing(client, dispatched):
    assert_error(client.post("/v1/batches", json={"collection_id": "docs", "auto_submit": True}), 422, "empty_batch")
    assert client.get("/v1/batches").get_json()["batches"] == [] and dispatched == []


def test_auto_submit_and_submit_at_together_are_refused(client, dispatched):
    body = {"collection_id": "docs", "object_ids": text_objects(client, 1), "auto_submit": True,
            "submit_at": "2099-01-01T00:00:00Z"}
    error = assert_error(client.post("/v1/batches", json=body), 422, "validation_error")
    assert "submit_at" in error["details"]["fields"]
    assert client.get("/v1/batches").get_json()["batches"] == [] and dispatched == []


def test_empty_batch_submit_is_422(client, dispatched):
    batch = new_batch(client, [])
    assert_error(client.post(f"/v1/batches/{batch['batch_id']}/submit"), 422, "empty_batch")
    assert dispatched == []


def test_cancel_transitions(client, dispatched):
    draft = new_batch(client, text_objects(client, 2))
    response = client.put(f"/v1/batches/{draft['batch_id']}/state", json={"state": "CANCELLED"})
    assert response.get_json() == {"batch_id": draft["batch_id"], "previous_state": "DRAFT", "current_state": "CANCELLED"}
    results = client.get(f"/v1/batches/{draft['batch_id']}/results").get_json()
    assert {r["status"] for r in results["results"]} == {"CANCELLED"}
    assert results["batch_summary"]["cancelled"] == 2
    assert_error(client.put(f"/v1/batches/{draft['batch_id']}/state", json={"state": "CANCELLED"}), 409, "invalid_state")
    assert_error(client.post(f"/v1/batches/{draft['batch_id']}/submit"), 409, "invalid_state")
    assert_error(client.put(f"/v1/batches/{draft['batch_id']}/state", json={"state": "COMPLETED"}), 422, "validation_error")

    queued = new_batch(client, text_objects(client, 1, "q"))
    client.post(f"/v1/batches/{queued['batch_id']}/submit")
    assert client.put(f"/v1/batches/{queued['batch_id']}/state", json={"state": "CANCELLED"}).get_json()["previous_state"] == "QUEUED"
    assert lifecycle.start_processing(queued["batch_id"], "default").item_ids == ()  # the dispatch finds nothing to do


def test_results_errors_and_final_status(client, dispatched):
    ids = text_objects(client, 2)
    bad = upload(client, {"tool.exe": make_elf()}).get_json()["objects"][0]["object_id"]
    batch = new_batch(client, ids + [bad])
    client.post(f"/v1/batches/{batch['batch_id']}/submit", json={"include_processing_history": True})
    assert run_items(batch["batch_id"]).status == "COMPLETED_WITH_ERRORS"
    body = client.get(f"/v1/batches/{batch['batch_id']}/results").get_json()
    assert body["batch_summary"] == {"batch_id": batch["batch_id"], "status": "COMPLETED_WITH_ERRORS", "total_items": 3,
                                     "successful": 2, "skipped": 0, "failed": 1, "cancelled": 0}
    by_id = {r["object_id"]: r for r in body["results"]}
    assert by_id[bad]["error"]["type"] == "format_error" and by_id[bad]["status"] == "FAILED"
    good = by_id[ids[0]]
    assert good["status"] == "SUCCEEDED" and good["chunks"] >= 1 and good["dimensions"] == 384 and good["attempts"] == 1
    assert [s["name"] for s in good["processing_history"]][:1] == ["read"]
    assert client.get(f"/v1/batches/{batch['batch_id']}/results?status=FAILED").get_json()["results"][0]["object_id"] == bad
    errors = client.get(f"/v1/batches/{batch['batch_id']}/errors").get_json()
    assert errors["total_errors"] == 1 and errors["by_type"]["format_error"][0]["object_id"] == bad
    finished = client.get(f"/v1/batches/{batch['batch_id']}").get_json()
    assert finished["progress"]["processed"] == 3 and finished["progress"]["percent"] == 100.0
    assert finished["status_message"].startswith("Completed 3 objects · 1 failed")
    assert finished["health"] == "degraded"
    assert_error(client.post(f"/v1/batches/{batch['batch_id']}/submit"), 409, "invalid_state")


def test_results_pagination(client, dispatched):
    batch = new_batch(client, text_objects(client, 5))
    first = client.get(f"/v1/batches/{batch['batch_id']}/results?limit=2").get_json()
    rest = client.get(f"/v1/batches/{batch['batch_id']}/results?limit=10&cursor={first['next_cursor']}").get_json()
    assert len(first["results"]) == 2 and len(rest["results"]) == 3 and rest["next_cursor"] is None


def test_retry_creates_child_batch_of_failed_items(client, dispatched):
    good = text_objects(client, 1)
    bad = upload(client, {"x.zip": b"PK\x03\x04" + b"\x00" * 40}).get_json()["objects"][0]["object_id"]
    batch = new_batch(client, good + [bad])
    assert_error(client.post(f"/v1/batches/{batch['batch_id']}/retry"), 409, "invalid_state")
    client.post(f"/v1/batches/{batch['batch_id']}/submit")
    run_items(batch["batch_id"])
    assert client.get(f"/v1/batches/{batch['batch_id']}/errors").get_json()["by_type"].keys() == {"format_error"}
    # A format_error fails again on the same bytes: the default retry leaves it out, so nothing is left.
    assert_error(client.post(f"/v1/batches/{batch['batch_id']}/retry"), 422, "empty_batch")
    child = client.post(f"/v1/batches/{batch['batch_id']}/retry", json={"error_types": ["format_error"]})
    assert child.status_code == 201
    assert child.get_json()["parent_batch_id"] == batch["batch_id"] and child.get_json()["progress"]["total"] == 1
    assert child.get_json()["collection_id"] == batch["collection_id"]
    assert_error(client.post(f"/v1/batches/{batch['batch_id']}/retry", json={"error_types": ["bogus"]}),
                 422, "validation_error")


def test_retry_picks_transient_failures_and_cancelled_items_by_default(client, dispatched):
    from app.db import session_scope
    from app.models import BatchItem

    ids = text_objects(client, 4)
    batch = new_batch(client, ids)
    client.post(f"/v1/batches/{batch['batch_id']}/submit")
    run_items(batch["batch_id"])
    outcomes = [("FAILED", "timeout"), ("FAILED", "corrupted_file"), ("CANCELLED", None), ("SUCCEEDED", None)]
    with session_scope() as session:   # the outcomes a real run can end with, set directly
        items = session.query(BatchItem).filter_by(batch_id=batch["batch_id"]).order_by(BatchItem.id).all()
        for item, (status, error_type) in zip(items, outcomes):
            item.status, item.error_type = status, error_type
    child_items = lambda body: [r["object_id"] for r in client.get(  # noqa: E731
        f"/v1/batches/{body['batch_id']}/results").get_json()["results"]]
    default = client.post(f"/v1/batches/{batch['batch_id']}/retry").get_json()
    assert child_items(default) == [ids[0], ids[2]]
    no_cancelled = client.post(f"/v1/batches/{batch['batch_id']}/retry", json={"include_cancelled": False}).get_json()
    assert child_items(no_cancelled) == [ids[0]]
    named = client.post(f"/v1/batches/{batch['batch_id']}/retry",
                        json={"error_types": ["corrupted_file"], "include_cancelled": False}).get_json()
    assert child_items(named) == [ids[1]]


def test_list_newest_first_with_filters_and_cursor(client, dispatched):
    ids = text_objects(client, 1)
    made = [new_batch(client, ids, collection_id=f"c{i % 2}")["batch_id"] for i in range(5)]
    listed = client.get("/v1/batches?limit=3").get_json()
    rest = client.get(f"/v1/batches?limit=3&cursor={listed['next_cursor']}").get_json()
    assert [b["batch_id"] for b in listed["batches"] + rest["batches"]] == made[::-1]
    assert [b["batch_id"] for b in client.get("/v1/batches?collection_id=c1").get_json()["batches"]] == [made[3], made[1]]
    client.post(f"/v1/batches/{made[0]}/submit")
    assert [b["batch_id"] for b in client.get("/v1/batches?status=QUEUED").get_json()["batches"]] == [made[0]]
    assert_error(client.get("/v1/batches?status=NOPE"), 422, "validation_error")


def test_delete_rules(client, dispatched):
    ids = text_objects(client, 1)
    draft = new_batch(client, ids)
    assert client.delete(f"/v1/batches/{draft['batch_id']}").status_code == 204
    assert_error(client.get(f"/v1/batches/{draft['batch_id']}"), 404, "not_found")
    queued = new_batch(client, ids)
    client.post(f"/v1/batches/{queued['batch_id']}/submit")
    assert_error(client.delete(f"/v1/batches/{queued['batch_id']}"), 409, "invalid_state")
    assert_error(client.delete(f"/v1/objects/{ids[0]}"), 409, "invalid_state")  # a queued batch needs it
    run_items(queued["batch_id"])
    assert client.delete(f"/v1/batches/{queued['batch_id']}").status_code == 204


def test_health_endpoint(client, dispatched):
    batch = new_batch(client, text_objects(client, 1))
    body = client.get(f"/v1/batches/{batch['batch_id']}/health").get_json()
    assert body == {"batch_id": batch["batch_id"], "health": "healthy", "stalled_seconds": 0, "reasons": []}


@pytest.mark.parametrize("path,method", [
    ("/v1/batches/bat_missing", "get"), ("/v1/batches/bat_missing", "delete"),
    ("/v1/batches/bat_missing/submit", "post"), ("/v1/batches/bat_missing/results", "get"),
    ("/v1/batches/bat_missing/errors", "get"), ("/v1/batches/bat_missing/health", "get"),
    ("/v1/batches/bat_missing/retry", "post"),
])
def test_unknown_batch_is_404(client, path, method):
    assert_error(getattr(client, method)(path), 404, "not_found")


def test_other_namespace_cannot_touch_a_batch(client, dispatched):
    batch = new_batch(client, text_objects(client, 1))
    other = {"X-Namespace": "team-b"}
    for method, path, kwargs in [
        ("get", "", {}), ("post", "/submit", {}), ("put", "/state", {"json": {"state": "CANCELLED"}}),
        ("get", "/results", {}), ("get", "/errors", {}), ("delete", "", {}),
        ("post", "/objects", {"json": {"object_ids": ["obj_x"]}}),
    ]:
        assert_error(getattr(client, method)(f"/v1/batches/{batch['batch_id']}{path}", headers=other, **kwargs),
                     404, "not_found")
    assert client.get("/v1/batches", headers=other).get_json()["batches"] == []
    assert dispatched == []


def test_bad_batch_bodies(client):
    assert_error(client.post("/v1/batches", json={}), 422, "validation_error")
    error = assert_error(client.post("/v1/batches", json={"collection_id": "c", "surprise": 1}), 422, "validation_error")
    assert "surprise" in error["details"]["fields"]
    assert_error(client.post("/v1/batches", json={"collection_id": "bad id/with slash"}), 422, "validation_error")
    assert_error(client.post("/v1/batches", json={"collection_id": "c", "object_ids": "obj_1"}), 422, "validation_error")
    assert_error(client.post("/v1/batches", json={"collection_id": "c", "webhook_url": "ftp://x"}), 422, "validation_error")
    assert_error(client.post("/v1/batches", data="{", content_type="application/json"), 400, "validation_error")
    assert_error(client.post("/v1/batches/bat_x/submit", data="[", content_type="application/json"), 400, "validation_error")
