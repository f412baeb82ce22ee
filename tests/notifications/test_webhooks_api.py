"""Webhook subscriptions, the delivery log and the event stream over HTTP (test client, fakeredis, SQLite)."""
import pytest

from tests.overrides import with_overrides
from app.notifications.delivery import attempt_delivery
from tests.helpers import assert_error, new_batch, text_objects
from tests.sse_client import parse_sse

OTHER = {"X-Namespace": "other"}
PUBLIC = "http://93.184.216.34/hook"   # a public address literal: no DNS needed


def create(client, **body):
    response = client.post("/v1/webhooks", json={"url": PUBLIC, "events": ["batch.completed"], **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_list_get_delete(client):
    created = create(client, events=["batch.completed", "batch.failed"])
    assert created["webhook_id"].startswith("whk_") and created["secret"].startswith("whsec_")
    assert set(created) == {"webhook_id", "url", "events", "created_at", "secret"}
    assert created["events"] == ["batch.completed", "batch.failed"] and created["url"] == PUBLIC
    mine = create(client, secret="my-own-secret")
    assert mine["secret"] == "my-own-secret"

    listed = client.get("/v1/webhooks").get_json()["webhooks"]
    assert [w["webhook_id"] for w in listed] == [mine["webhook_id"], created["webhook_id"]]
    assert all("secret" not in w for w in listed)
    one = client.get(f"/v1/webhooks/{created['webhook_id']}").get_json()
    assert one == {k: v for k, v in created.items() if k != "secret"}

    assert client.delete(f"/v1/webhooks/{created['webhook_id']}").status_code == 204
    assert_error(client.get(f"/v1/webhooks/{created['webhook_id']}"), 404, "not_found")
    assert_error(client.delete(f"/v1/webhooks/{created['webhook_id']}"), 404, "not_found")
    assert [w["webhook_id"] for w in client.get("/v1/webhooks").get_json()["webhooks"]] == [mine["webhook_id"]]


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://93.184.216.34/x", "events": ["batch.completed"]}, "url"),
    ({"url": "not a url", "events": ["batch.completed"]}, "url"),
    ({"url": "http://127.0.0.1:8080/hook", "events": ["batch.completed"]}, "url"),
    ({"url": "http://10.0.0.5/hook", "events": ["batch.completed"]}, "url"),
    ({"url": "http://169.254.169.254/latest", "events": ["batch.completed"]}, "url"),
    ({"url": "http://[::1]/hook", "events": ["batch.completed"]}, "url"),
    ({"url": PUBLIC, "events": []}, "events"),
    ({"url": PUBLIC, "events": ["batch.exploded"]}, "events"),
    ({"url": PUBLIC}, "events"),
    ({"url": PUBLIC, "events": ["batch.completed"], "secret": "short"}, "secret"),
    ({"url": PUBLIC, "events": ["batch.completed"], "surprise": True}, "surprise"),
])
def test_bad_subscriptions_are_422_naming_the_field(client, body, field):
    error = assert_error(client.post("/v1/webhooks", json=body), 422, "validation_error")
    assert field in error["details"]["fields"]
    assert client.get("/v1/webhooks").get_json()["webhooks"] == []


def test_loopback_allowed_only_by_the_development_switch(client):
    with_overrides(WEBHOOK_ALLOW_PRIVATE=True)
    assert client.post("/v1/webhooks", json={"url": "http://127.0.0.1:8080/h", "events": ["batch.failed"]}).status_code == 201
    error = assert_error(client.post("/v1/webhooks", json={"url": "http://169.254.169.254/", "events": ["batch.failed"]}),
                         422, "validation_error")
    assert "metadata" in error["details"]["fields"]["url"][0]


def test_batch_webhook_url_is_checked_at_creation(client):
    ids = text_objects(client, 1)
    for url in ("http://127.0.0.1:9000/h", "http://192.168.1.20/h", "http://169.254.169.254/"):
        error = assert_error(client.post("/v1/batches", json={"collection_id": "c", "object_ids": ids, "webhook_url": url}),
                             422, "validation_error")
        assert "webhook_url" in error["details"]["fields"]
    assert client.get("/v1/batches").get_json()["batches"] == []
    batch = new_batch(client, ids, webhook_url=PUBLIC)
    assert batch["webhook_url"] == PUBLIC and batch["webhook_secret"].startswith("whsec_")


def test_other_namespaces_see_nothing(client):
    created = create(client)
    assert client.get("/v1/webhooks", headers=OTHER).get_json()["webhooks"] == []
    for method, path in (("get", ""), ("delete", ""), ("get", "/deliveries")):
        assert_error(getattr(client, method)(f"/v1/webhooks/{created['webhook_id']}{path}", headers=OTHER),
                     404, "not_found")
    assert client.get(f"/v1/webhooks/{created['webhook_id']}").status_code == 200


def test_deliveries_are_listed_newest_first(client, dispatched, enqueued_deliveries, monkeypatch):
    import app.notifications.delivery as delivery

    hook = create(client, events=["batch.submitted"])
    assert client.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries").get_json() == {"deliveries": []}
    batch = new_batch(client, text_objects(client, 1), auto_submit=True)
    [(event_id, target)] = enqueued_deliveries
    assert target == hook["webhook_id"]
    answers = iter([(503, "HTTP 503"), (None, "ConnectionError: refused"), (204, None)])
    monkeypatch.setattr(delivery, "_post", lambda plan, attempt: next(answers))
    assert [attempt_delivery(event_id, target, n) for n in (1, 2, 3)] == ["retrying", "retrying", "delivered"]

    deliveries = client.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries").get_json()["deliveries"]
    assert [(d["attempt"], d["status_code"], d["error"], d["outcome"]) for d in deliveries] == [
        (3, 204, None, "delivered"), (2, None, "ConnectionError: refused", "retrying"), (1, 503, "HTTP 503", "retrying")]
    assert {d["event_id"] for d in deliveries} == {event_id} and {d["type"] for d in deliveries} == {"batch.submitted"}
    only = client.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries?limit=1").get_json()["deliveries"]
    assert [d["attempt"] for d in only] == [3]
    assert batch["status"] == "QUEUED"


def test_event_stream_of_a_finished_batch_replays_and_ends(client, dispatched, enqueued_deliveries):
    batch = new_batch(client, text_objects(client, 2), auto_submit=True)
    client.put(f"/v1/batches/{batch['batch_id']}/state", json={"state": "CANCELLED"})
    response = client.get(f"/v1/batches/{batch['batch_id']}/events")
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    messages = parse_sse(response.get_data(as_text=True))
    assert [m["event"] for m in messages] == ["batch.submitted", "progress", "batch.cancelled"]
    first = messages[0]["id"]
    by_header = client.get(f"/v1/batches/{batch['batch_id']}/events", headers={"Last-Event-ID": str(first)})
    by_query = client.get(f"/v1/batches/{batch['batch_id']}/events?last_event_id={first}")
    for resumed in (by_header, by_query):
        assert [m["event"] for m in parse_sse(resumed.get_data(as_text=True))] == ["progress", "batch.cancelled"]


def test_event_stream_errors(client):
    batch = new_batch(client, text_objects(client, 1))
    assert_error(client.get("/v1/batches/bat_nope/events"), 404, "not_found")
    assert_error(client.get(f"/v1/batches/{batch['batch_id']}/events", headers=OTHER), 404, "not_found")
    assert_error(client.get(f"/v1/batches/{batch['batch_id']}/events", headers={"Last-Event-ID": "abc"}),
                 422, "validation_error")
    assert_error(client.get(f"/v1/batches/{batch['batch_id']}/events?last_event_id=-1"), 422, "validation_error")


def test_openapi_documents_webhooks_and_the_stream(client):
    spec = client.get("/openapi.json").get_json()
    assert {"/v1/webhooks", "/v1/webhooks/{webhook_id}", "/v1/webhooks/{webhook_id}/deliveries",
            "/v1/batches/{batch_id}/events"} <= set(spec["paths"])
    stream = spec["paths"]["/v1/batches/{batch_id}/events"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert any(p["name"] == "Last-Event-ID" and p["in"] == "header" for p in stream["parameters"])
