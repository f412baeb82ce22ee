"""One delivery attempt against a real loopback receiver: signed, recorded, retried, refused, never redirected."""
import json

import pytest
from sqlalchemy import select

from tests.overrides import with_overrides
from app.db import session_scope
from app.models import BatchEvent, WebhookDelivery
from app.redis_client import key
from app.batches import lifecycle
from app.notifications import webhooks
from app.notifications.delivery import attempt_delivery, backoff_seconds
from tests.helpers import new_batch, text_objects
from tests.webhook_receiver import Receiver, verify_signature


@pytest.fixture
def settings_overrides(settings_overrides):
    """Loopback receivers allowed, three attempts, short timeouts."""
    return {**settings_overrides, "WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOK_MAX_ATTEMPTS": 3,
            "WEBHOOK_TIMEOUT_SECONDS": 2, "WEBHOOK_BACKOFF_BASE_MS": 1000}


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def submitted_event(client, webhook_url):
    """Submit a batch with its own webhook URL; returns (event_id, batch secret)."""
    batch = new_batch(client, text_objects(client, 1), webhook_url=webhook_url)
    lifecycle.submit_batch("default", batch["batch_id"])
    with session_scope() as session:
        event = session.scalar(select(BatchEvent).where(BatchEvent.batch_id == batch["batch_id"]))
        return event.event_id, batch["webhook_secret"]


def attempts(event_id):
    with session_scope() as session:
        return [(d.target, d.attempt, d.status_code, d.outcome, d.error) for d in session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.event_id == event_id).order_by(WebhookDelivery.id))]


def test_delivered_signed_recorded_and_counted(client, receiver, fake_redis, enqueued_deliveries):
    event_id, secret = submitted_event(client, receiver.url("/own"))
    assert attempt_delivery(event_id, "batch", 1) == "delivered"
    [request] = receiver.received("/own")
    assert verify_signature(secret, request["headers"]["Batchery-Signature"], request["body"])
    assert request["json"]["event_id"] == event_id and request["json"]["type"] == "batch.submitted"
    assert set(request["json"]) == {"event_id", "type", "created_at", "data"}
    assert request["headers"]["Batchery-Event-Id"] == event_id
    assert attempts(event_id) == [("batch", 1, 200, "delivered", None)]
    assert fake_redis.hgetall(key("metrics", "webhook_deliveries")) == {"delivered": "1"}
    assert attempt_delivery(event_id, "batch", 2) == "dropped"      # a duplicate task finds it delivered
    assert len(receiver.received("/own")) == 1


def test_non_2xx_retries_until_the_last_attempt_fails(client, receiver, fake_redis, enqueued_deliveries):
    receiver.fail_first["/own"] = 10
    event_id, _ = submitted_event(client, receiver.url("/own"))
    assert [attempt_delivery(event_id, "batch", n) for n in (1, 2, 3)] == ["retrying", "retrying", "failed"]
    assert [a[1:4] for a in attempts(event_id)] == [(1, 500, "retrying"), (2, 500, "retrying"), (3, 500, "failed")]
    assert {json.loads(r["body"])["event_id"] for r in receiver.received("/own")} == {event_id}
    assert fake_redis.hgetall(key("metrics", "webhook_deliveries")) == {"retrying": "2", "failed": "1"}


def test_a_repeated_attempt_number_is_recorded_once(client, receiver, enqueued_deliveries):
    receiver.fail_first["/own"] = 10
    event_id, _ = submitted_event(client, receiver.url("/own"))
    attempt_delivery(event_id, "batch", 1)
    attempt_delivery(event_id, "batch", 1)   # the same task redelivered after a worker died
    assert len(attempts(event_id)) == 1


def test_redirects_are_not_followed(client, receiver, enqueued_deliveries):
    event_id, _ = submitted_event(client, receiver.url("/redirect"))
    assert attempt_delivery(event_id, "batch", 1) == "retrying"
    assert attempts(event_id)[0][2:] == (302, "retrying", "HTTP 302")
    assert receiver.received("/redirected") == []


def test_a_receiver_that_is_down_is_a_failed_attempt_not_an_exception(client, enqueued_deliveries):
    from app.embedded import free_port

    event_id, _ = submitted_event(client, f"http://127.0.0.1:{free_port()}/gone")
    assert attempt_delivery(event_id, "batch", 1) == "retrying"
    [(_, _, status_code, _, error)] = attempts(event_id)
    assert status_code is None and "ConnectionError" in error


def test_private_target_refused_again_at_delivery(client, receiver, enqueued_deliveries):
    event_id, _ = submitted_event(client, receiver.url("/own"))   # registered while private targets were allowed
    with_overrides(WEBHOOK_ALLOW_PRIVATE=False)
    assert attempt_delivery(event_id, "batch", 1) == "failed"     # refused: not retried
    [(_, _, status_code, outcome, error)] = attempts(event_id)
    assert status_code is None and error.startswith("refused:") and "loopback" in error
    assert receiver.requests == []


def test_subscription_deliveries_and_deleted_targets(client, receiver, enqueued_deliveries):
    hook = webhooks.create_webhook("default", receiver.url("/sub"), ["batch.submitted"], secret="s3cret-value")
    event_id, _ = submitted_event(client, None)
    assert attempt_delivery(event_id, hook["webhook_id"], 1) == "delivered"
    request = receiver.received("/sub")[0]
    assert verify_signature("s3cret-value", request["headers"]["Batchery-Signature"], request["body"])
    assert [d["status_code"] for d in webhooks.list_deliveries("default", hook["webhook_id"])] == [200]
    webhooks.delete_webhook("default", hook["webhook_id"])
    assert attempt_delivery(event_id, hook["webhook_id"], 2) == "dropped"
    assert attempt_delivery(event_id, "batch", 1) == "dropped"      # that batch has no webhook_url


def test_backoff_doubles_with_jitter_and_is_capped(app):
    with_overrides(WEBHOOK_BACKOFF_BASE_MS=1000)
    for attempt, full in ((1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0)):
        delays = [backoff_seconds(attempt) for _ in range(200)]
        assert all(0 <= d <= full for d in delays) and max(delays) - min(delays) > full / 10
    assert backoff_seconds(40) <= 1800


def test_a_temporary_dns_failure_is_retried_not_failed_for_good(client, receiver, enqueued_deliveries, monkeypatch):
    import socket

    url = receiver.url("/own").replace("127.0.0.1", "localhost")
    event_id, _ = submitted_event(client, url)
    real, failures = socket.getaddrinfo, []

    def flaky(host, *args, **kwargs):
        if host == "localhost" and not failures:
            failures.append(host)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", flaky)
    assert attempt_delivery(event_id, "batch", 1) == "retrying"
    assert attempt_delivery(event_id, "batch", 2) == "delivered"
    (_, _, code, outcome, error), delivered = attempts(event_id)
    assert (code, outcome) == (None, "retrying") and "resolution" in error
    assert delivered[3] == "delivered" and len(receiver.received("/own")) == 1


def test_a_temporary_dns_failure_at_registration_asks_for_a_retry(client, monkeypatch):
    import socket

    def unavailable(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", unavailable)
    response = client.post("/v1/webhooks", json={"url": "https://hooks.example.com/in", "events": ["batch.completed"]})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json()["error"]["type"] == "service_unavailable"
