"""Tenancy: another namespace's ids answer exactly like unknown ids, on every endpoint, and change nothing.

To cover a new endpoint, add a row to ENDPOINTS (path and body may use any name `_seed` returns) and, if it
needs a new kind of resource, create it in `_seed`.
"""
import json

import pytest

from tests.batches.test_batches_api import run_items

# (method, path template, JSON body or None); {names} are filled from the owner's resources.
ENDPOINTS = [
    ("GET", "/v1/objects/{object_id}", None),
    ("DELETE", "/v1/objects/{object_id}", None),
    ("GET", "/v1/batches/{draft_id}", None),
    ("DELETE", "/v1/batches/{draft_id}", None),
    ("POST", "/v1/batches/{draft_id}/objects", {"object_ids": ["{intruder_object_id}"]}),
    ("POST", "/v1/batches/{draft_id}/submit", None),
    ("PUT", "/v1/batches/{draft_id}/state", {"state": "CANCELLED"}),
    ("GET", "/v1/batches/{draft_id}/health", None),
    ("POST", "/v1/batches/{finished_id}/retry", None),
    ("GET", "/v1/batches/{finished_id}/results", None),
    ("GET", "/v1/batches/{finished_id}/errors", None),
    ("GET", "/v1/batches/{finished_id}/results.jsonl", None),
    ("POST", "/v1/batches/{finished_id}/retry", {"error_types": ["format_error"], "include_cancelled": True}),
    ("GET", "/v1/tasks/{task_id}", None),
    ("POST", "/v1/batches", {"collection_id": "docs", "object_ids": ["{object_id}"]}),
    ("GET", "/v1/batches/{finished_id}/events", None),
    ("GET", "/v1/collections/{collection_id}", None),
    ("POST", "/v1/collections/{collection_id}/search", {"query": "owner's words", "top_k": 3}),
    ("GET", "/v1/webhooks/{webhook_id}", None),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries", None),
    ("DELETE", "/v1/webhooks/{webhook_id}", None),
    ("GET", "/v1/schedules/{schedule_id}", None),
    ("PATCH", "/v1/schedules/{schedule_id}", {"enabled": False}),
    ("GET", "/v1/schedules/{schedule_id}/runs", None),
    ("DELETE", "/v1/schedules/{schedule_id}", None),
]

# What an id of each kind looks like when nobody has it.
UNKNOWN = {"object_id": "obj_00000000000000000000000000", "draft_id": "bat_00000000000000000000000000",
           "finished_id": "bat_00000000000000000000000001", "task_id": "tsk_00000000000000000000000000",
           "collection_id": "no-such-collection", "webhook_id": "whk_00000000000000000000000000",
           "schedule_id": "sch_00000000000000000000000000"}


@pytest.fixture
def settings_overrides(settings_overrides):
    """Webhooks to a loopback address are allowed here (nothing is delivered: the enqueue is recorded)."""
    return {**settings_overrides, "WEBHOOK_ALLOW_PRIVATE": True}


def _seed(client, owner: dict, intruder: dict) -> dict:
    """Resources of the owner in several states, and one object of the intruder's own."""
    def post(path, **kwargs):
        response = client.post(path, headers=owner, **kwargs)
        assert response.status_code in (201, 202), response.get_json()
        return response.get_json()

    object_id = post("/v1/objects", json={"text": "owner's words", "filename": "a.txt"})["objects"][0]["object_id"]
    bad = post("/v1/objects", json={"text": "PK\x03\x04" + "\x00" * 40, "filename": "x.zip"})["objects"][0]["object_id"]
    draft_id = post("/v1/batches", json={"collection_id": "owner-docs", "object_ids": [object_id]})["batch_id"]
    finished_id = post("/v1/batches", json={"collection_id": "owner-docs",
                                            "object_ids": [object_id, bad]})["batch_id"]
    post(f"/v1/batches/{finished_id}/submit")
    run_items(finished_id, namespace="team-a")
    queued_id = post("/v1/batches", json={"collection_id": "owner-docs", "object_ids": [object_id]})["batch_id"]
    task_id = post(f"/v1/batches/{queued_id}/submit")["task_id"]
    webhook_id = post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["batch.completed"]})
    schedule = post("/v1/schedules", json={"name": "nightly", "cron": "0 3 * * *", "bucket": "default",
                                           "collection_id": "owner-docs"})
    mine = client.post("/v1/objects", json={"text": "intruder's words"}, headers=intruder).get_json()
    return {"object_id": object_id, "draft_id": draft_id, "finished_id": finished_id, "task_id": task_id,
            "collection_id": "owner-docs", "webhook_id": webhook_id["webhook_id"],
            "schedule_id": schedule["schedule_id"],
            "intruder_object_id": mine["objects"][0]["object_id"]}


def _fill(template, values: dict):
    """A path or JSON body with {names} replaced."""
    text = template if isinstance(template, str) else json.dumps(template)
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text if isinstance(template, str) else json.loads(text)


def _call(client, method, path, body, headers):
    """One request; JSON body when given."""
    return client.open(path, method=method, headers=headers, **({"json": body} if body is not None else {}))


@pytest.fixture
def tenants(keyed_client, key_headers, dispatched, enqueued_deliveries):
    """Two namespaces with a key each, and the owner's resources."""
    owner, intruder = key_headers("team-a"), key_headers("team-b", style="header")
    return owner, intruder, _seed(keyed_client, owner, intruder)


@pytest.mark.parametrize("method,template,body", ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_other_namespace_id_answers_like_an_unknown_id(keyed_client, tenants, method, template, body):
    owner, intruder, ids = tenants
    theirs = _call(keyed_client, method, _fill(template, ids), _fill(body, ids), intruder)
    unknown_ids = {**ids, **UNKNOWN}
    unknown = _call(keyed_client, method, _fill(template, unknown_ids), _fill(body, unknown_ids), intruder)
    assert theirs.status_code == unknown.status_code == 404
    normalised = theirs.get_data(as_text=True)
    for name, value in ids.items():
        normalised = normalised.replace(value, unknown_ids[name])
    assert json.loads(normalised) == unknown.get_json()
    assert theirs.get_json()["error"]["type"] == "not_found"


def test_nothing_of_the_owner_changed(keyed_client, tenants):
    owner, intruder, ids = tenants
    for method, template, body in ENDPOINTS:
        _call(keyed_client, method, _fill(template, ids), _fill(body, ids), intruder)
    assert keyed_client.get(f"/v1/objects/{ids['object_id']}", headers=owner).status_code == 200
    draft = keyed_client.get(f"/v1/batches/{ids['draft_id']}", headers=owner).get_json()
    assert draft["status"] == "DRAFT" and draft["progress"]["total"] == 1
    listed = keyed_client.get("/v1/batches", headers=intruder).get_json()["batches"]
    assert [b["namespace"] for b in listed] == []
    assert keyed_client.get(f"/v1/webhooks/{ids['webhook_id']}", headers=owner).status_code == 200
    assert keyed_client.get(f"/v1/collections/{ids['collection_id']}", headers=owner).get_json()["documents"] == 1
    schedule = keyed_client.get(f"/v1/schedules/{ids['schedule_id']}", headers=owner).get_json()
    assert schedule["enabled"] is True


def test_lists_show_only_the_callers_namespace(keyed_client, tenants):
    owner, intruder, ids = tenants
    theirs = keyed_client.get("/v1/objects", headers=intruder).get_json()["objects"]
    assert [o["object_id"] for o in theirs] == [ids["intruder_object_id"]]
    assert keyed_client.get("/v1/batches", headers=intruder).get_json()["batches"] == []
    assert keyed_client.get("/v1/batches?collection_id=docs", headers=intruder).get_json()["batches"] == []
    mine = keyed_client.get("/v1/batches", headers=owner).get_json()["batches"]
    assert len(mine) == 3 and {b["namespace"] for b in mine} == {"team-a"}
    assert keyed_client.get("/v1/collections", headers=intruder).get_json()["collections"] == []
    assert keyed_client.get("/v1/webhooks", headers=intruder).get_json()["webhooks"] == []
    assert len(keyed_client.get("/v1/webhooks", headers=owner).get_json()["webhooks"]) == 1
    assert keyed_client.get("/v1/schedules", headers=intruder).get_json()["schedules"] == []
