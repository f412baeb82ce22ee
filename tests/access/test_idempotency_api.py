"""Idempotency-Key on POST /v1/batches and POST /v1/objects: retries replay, changed bodies conflict, races make one."""
import io
import threading
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from app.db import session_scope
from app.models import Batch, IdempotencyRecord, StoredObject, utcnow
from tests.helpers import assert_error, text_objects


def count(model) -> int:
    """Rows of a table."""
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_retry_returns_the_first_answer_and_creates_nothing_new(client):
    ids = text_objects(client, 2)
    key = {"Idempotency-Key": "create-docs-1"}
    body = {"collection_id": "docs", "object_ids": ids, "metadata": {"a": 1, "b": 2}}
    first = client.post("/v1/batches", json=body, headers=key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    # The same request, serialised differently: key order and whitespace do not matter.
    again = client.post("/v1/batches", headers=key, content_type="application/json",
                        data='{ "metadata": {"b": 2, "a": 1}, "object_ids": %s, "collection_id": "docs" }'
                        % str(ids).replace("'", '"'))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert count(Batch) == 1


def test_same_key_with_a_different_body_is_a_conflict(client):
    ids = text_objects(client, 2)
    key = {"Idempotency-Key": "k-1"}
    assert client.post("/v1/batches", json={"collection_id": "docs", "object_ids": ids}, headers=key).status_code == 201
    error = assert_error(client.post("/v1/batches", json={"collection_id": "docs", "object_ids": ids[:1]},
                                     headers=key), 409, "idempotency_conflict")
    assert error["details"]["idempotency_key"] == "k-1"
    assert count(Batch) == 1


def test_multipart_retry_replays_even_with_a_new_boundary(client):
    def send(content: bytes):
        return client.post("/v1/objects", headers={"Idempotency-Key": "upload-7"}, content_type="multipart/form-data",
                           data={"bucket": "in", "file": [(io.BytesIO(content), "a.txt")]})

    first = send(b"hello there")
    assert first.status_code == 201
    assert send(b"hello there").get_json() == first.get_json()
    assert_error(send(b"hello THERE"), 409, "idempotency_conflict")
    assert count(StoredObject) == 1


def test_keys_are_scoped_by_namespace_and_path(client):
    key = {"Idempotency-Key": "shared"}
    a = client.post("/v1/objects", json={"text": "one"}, headers=key).get_json()
    b = client.post("/v1/objects", json={"text": "one"}, headers={**key, "X-Namespace": "team-b"}).get_json()
    assert a["objects"][0]["object_id"] != b["objects"][0]["object_id"]
    created = client.post("/v1/batches", json={"collection_id": "docs"}, headers=key)
    assert created.status_code == 201 and created.get_json()["batch_id"].startswith("bat_")


def test_a_refused_request_is_not_remembered(client):
    key = {"Idempotency-Key": "fix-and-retry"}
    assert_error(client.post("/v1/batches", json={"collection_id": "docs", "object_ids": ["obj_nope"]}, headers=key),
                 404, "not_found")
    ids = text_objects(client, 1)
    assert client.post("/v1/batches", json={"collection_id": "docs", "object_ids": ids}, headers=key).status_code == 201
    assert count(IdempotencyRecord) == 1


def test_bad_keys_are_validation_errors(client):
    for bad in ["x" * 256, "with space", "ünïcode"]:
        error = assert_error(client.post("/v1/objects", json={"text": "a"}, headers={"Idempotency-Key": bad}),
                             422, "validation_error")
        assert "Idempotency-Key" in error["details"]["fields"]
    assert count(StoredObject) == 0


def test_concurrent_duplicates_create_one_batch(app, monkeypatch):
    from app.batches import catalog

    real = catalog.create_batch

    def slow_create(*args, **kwargs):
        time.sleep(0.3)  # hold the key while the duplicates arrive
        return real(*args, **kwargs)

    monkeypatch.setattr(catalog, "create_batch", slow_create)
    answers = []

    def send():
        response = app.test_client().post("/v1/batches", json={"collection_id": "docs"},
                                          headers={"Idempotency-Key": "race"})
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [status for status, _ in answers] == [201] * 5
    assert len({body["batch_id"] for _, body in answers}) == 1
    assert count(Batch) == 1


def test_expired_records_are_purged_and_the_key_runs_anew(client):
    from tasks.maintenance import purge_idempotency_records
    import celeryconfig

    assert celeryconfig.beat_schedule["purge-idempotency-records"]["task"] == "batchery.purge_idempotency_records"
    key = {"Idempotency-Key": "old"}
    first = client.post("/v1/objects", json={"text": "x"}, headers=key).get_json()
    client.post("/v1/objects", json={"text": "y"}, headers={"Idempotency-Key": "fresh"})
    with session_scope() as session:
        session.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == "old")
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    again = client.post("/v1/objects", json={"text": "x"}, headers=key).get_json()
    assert again["objects"][0]["object_id"] != first["objects"][0]["object_id"]  # expired: runs again
    with session_scope() as session:
        session.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == "old")
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert purge_idempotency_records() == 1
    with session_scope() as session:
        assert list(session.scalars(select(IdempotencyRecord.key))) == ["fresh"]


def test_a_replay_never_shows_the_one_time_webhook_secret(client):
    ids = text_objects(client, 1)
    key = {"Idempotency-Key": "with-a-secret"}
    body = {"collection_id": "docs", "object_ids": ids, "webhook_url": "https://93.184.216.34/batchery"}
    first = client.post("/v1/batches", json=body, headers=key).get_json()
    secret = first["webhook_secret"]
    assert secret and len(secret) >= 8
    again = client.post("/v1/batches", json=body, headers=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == {**first, "webhook_secret": None}
    with session_scope() as session:
        stored = session.scalars(select(IdempotencyRecord)).one()
    assert secret not in str(stored.body) and stored.body["webhook_secret"] is None
