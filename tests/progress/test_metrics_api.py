"""GET /metrics: Prometheus text from the database and the shared Redis counters, parsed with the official client."""
import math

from prometheus_client.parser import text_string_to_metric_families

from app import create_app, db
from app.redis_client import key
from app.progress import metrics
from tests.helpers import new_batch, text_objects, upload
from tests.batches.test_batches_api import run_items
from tests.fixture_files import make_elf


def scrape(client) -> dict:
    """{metric family name: {(sample name, labels as sorted tuple): value}}."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.headers["Content-Type"].count("charset") == 1, response.headers["Content-Type"]
    families = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        families[family.name] = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
    return families


def test_metrics_after_a_batch(client, dispatched, fake_redis, app, monkeypatch):
    broker = "redis://broker.test:6379/0"
    monkeypatch.setattr(app.extensions["celery"].conf, "broker_url", broker)
    monkeypatch.setitem(metrics._brokers, broker, fake_redis)   # the broker's lists, without a real broker
    fake_redis.rpush("test:batchery", "m1", "m2")   # kombu prefixes queue lists with REDIS_PREFIX
    fake_redis.rpush("test:batchery\x06\x169", "m3")
    fake_redis.rpush("batchery", "another deployment's message")
    fake_redis.hincrby(key("metrics", "webhook_deliveries"), "delivered", 4)
    fake_redis.hincrby(key("metrics", "webhook_deliveries"), "failed", 1)

    bad = upload(client, {"tool.exe": make_elf()}).get_json()["objects"][0]["object_id"]
    finished = new_batch(client, text_objects(client, 2) + [bad])
    client.post(f"/v1/batches/{finished['batch_id']}/submit")
    run_items(finished["batch_id"])
    new_batch(client, text_objects(client, 1, "draft"))

    found = scrape(client)
    batches = found["batchery_batches"]
    assert batches[("batchery_batches", (("status", "COMPLETED_WITH_ERRORS"),))] == 1
    assert batches[("batchery_batches", (("status", "DRAFT"),))] == 1
    assert batches[("batchery_batches", (("status", "PROCESSING"),))] == 0 and len(batches) == 7
    assert found["batchery_items_processed"] == {
        ("batchery_items_processed_total", (("outcome", "failed"),)): 1,
        ("batchery_items_processed_total", (("outcome", "succeeded"),)): 2}
    histogram = found["batchery_item_duration_seconds"]
    assert histogram[("batchery_item_duration_seconds_count", ())] == 3
    assert histogram[("batchery_item_duration_seconds_bucket", (("le", "+Inf"),))] == 3
    cumulative = [v for (name, _), v in histogram.items() if name.endswith("_bucket")]
    assert cumulative == sorted(cumulative) and len(cumulative) == len(metrics.DURATION_BUCKETS) + 1
    assert 0 < histogram[("batchery_item_duration_seconds_sum", ())] < 60
    assert found["batchery_queue_depth"] == {("batchery_queue_depth", (("queue", "batchery"),)): 3}
    assert found["batchery_webhook_deliveries"] == {
        ("batchery_webhook_deliveries_total", (("outcome", "delivered"),)): 4,
        ("batchery_webhook_deliveries_total", (("outcome", "failed"),)): 1}


def test_an_unreachable_broker_reads_nan_not_an_error(client, app, monkeypatch):
    monkeypatch.setattr(app.extensions["celery"].conf, "broker_url", "redis://127.0.0.1:1/0")  # nobody on port 1
    monkeypatch.setattr(metrics, "_brokers", {})
    depth = scrape(client)["batchery_queue_depth"][("batchery_queue_depth", (("queue", "batchery"),))]
    assert math.isnan(depth)


def test_metrics_need_no_key_and_stay_out_of_the_openapi_document(settings_overrides, fake_redis):
    secured = create_app({**settings_overrides, "AUTH_DISABLED": False})
    try:
        client = secured.test_client()
        assert client.get("/v1/batches").status_code == 401
        assert client.get("/metrics").status_code == 200
        assert "/metrics" not in client.get("/openapi.json").get_json()["paths"]
    finally:
        db.dispose_engine()
