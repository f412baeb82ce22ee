"""Task status from Redis, probes, OpenAPI, and Werkzeug's own errors in the contract's shape."""
from app.redis_client import key
from tests.helpers import assert_error, new_batch, text_objects


def test_task_status_lives_in_redis_with_a_24h_ttl(client, dispatched, fake_redis):
    batch = new_batch(client, text_objects(client, 2))
    task_id = client.post(f"/v1/batches/{batch['batch_id']}/submit").get_json()["task_id"]
    body = client.get(f"/v1/tasks/{task_id}").get_json()
    assert body["task_id"] == task_id and body["batch_id"] == batch["batch_id"] and body["status"] == "QUEUED"
    assert body["progress"]["total"] == 2 and body["progress"]["processed"] == 0
    assert 0 < fake_redis.ttl(key("task", task_id)) <= 24 * 3600
    assert_error(client.get(f"/v1/tasks/{task_id}", headers={"X-Namespace": "other"}), 404, "not_found")

    fake_redis.delete(key("task", task_id))  # what expiry does after 24 h
    error = assert_error(client.get(f"/v1/tasks/{task_id}"), 404, "not_found")
    assert f"GET /v1/batches/{batch['batch_id']}" in error["message"]
    assert error["details"]["batch_id"] == batch["batch_id"]


def test_task_percent_agrees_with_the_batch_and_never_shows_100_early(client, dispatched, fake_redis):
    batch = new_batch(client, text_objects(client, 2))
    task_id = client.post(f"/v1/batches/{batch['batch_id']}/submit").get_json()["task_id"]
    # 1,999 of 2,000 done: rounding would say 100.0 while one item is still open.
    fake_redis.hset(key("progress", batch["batch_id"]), mapping={"total": 2000, "succeeded": 1999})
    assert client.get(f"/v1/tasks/{task_id}").get_json()["progress"]["percent"] == 99.9


def test_unknown_task_is_404(client):
    assert_error(client.get("/v1/tasks/tsk_unknown"), 404, "not_found")


def test_probes(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["database"]["ok"] is True


def test_readyz_reports_unreachable_redis(client):
    from app.redis_client import use_redis
    import redis

    use_redis(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["redis"]["ok"] is False


def test_openapi_document_and_docs(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["info"]["title"] == "Batchery"
    for path in ["/v1/objects", "/v1/batches", "/v1/batches/{batch_id}/submit", "/v1/batches/{batch_id}/state",
                 "/v1/batches/{batch_id}/results", "/v1/batches/{batch_id}/errors", "/v1/tasks/{task_id}"]:
        assert path in spec["paths"], path
    assert "Error" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_werkzeug_errors_use_the_envelope(client, app):
    assert_error(client.get("/no/such/path"), 404, "not_found")
    assert_error(client.patch("/v1/batches"), 405, "method_not_allowed")
    app.config["MAX_CONTENT_LENGTH"] = 100
    assert_error(client.post("/v1/objects", json={"text": "x" * 500}), 413, "payload_too_large")


def test_redis_outage_is_a_503_in_the_envelope(client, dispatched):
    import redis

    from app.redis_client import use_redis

    batch = new_batch(client, text_objects(client, 1))
    client.post(f"/v1/batches/{batch['batch_id']}/submit")
    use_redis(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    response = client.get(f"/v1/batches/{batch['batch_id']}")
    error = assert_error(response, 503, "service_unavailable")
    assert error["details"] == {"dependency": "redis"} and response.headers["Retry-After"] == "5"
