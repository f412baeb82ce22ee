"""Every size limit at its edge and just over: 413 in the contract's shape, and nothing of a refused request stored."""
import io

import pytest
from sqlalchemy import func, select

from app import create_app, db
from app.settings import get_settings
from app.db import session_scope
from app.models import Batch, BatchItem, IdempotencyRecord, StoredObject
from tests.api.helpers import assert_error, seed_stored_objects


@pytest.fixture
def make_client(settings_overrides, fake_redis):
    """A test client whose app runs with the given limits."""
    def make(**limits):
        return create_app({**settings_overrides, "RATE_LIMIT_PER_MINUTE": 0, **limits}).test_client()

    yield make
    db.dispose_engine()


def stored() -> dict:
    """Everything a request could leave behind: rows of each table and files in the objects directory."""
    with session_scope() as session:
        counts = {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                  for model in (StoredObject, Batch, BatchItem, IdempotencyRecord)}
    root = get_settings().objects_dir
    counts["files"] = sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return counts


def files(*sizes: int, prefix="f") -> dict:
    """Multipart `file` parts of the given sizes (distinct contents)."""
    return {"file": [(io.BytesIO(bytes([65 + i % 26]) * size), f"{prefix}{i}.txt") for i, size in enumerate(sizes)]}


def post_files(client, path, parts: dict, **form):
    """A multipart POST."""
    return client.post(path, data={**form, **parts}, content_type="multipart/form-data")


def object_ids(client, *sizes) -> list[str]:
    """Upload files of these sizes and return their ids."""
    response = post_files(client, "/v1/objects", files(*sizes))
    assert response.status_code == 201, response.get_json()
    return [o["object_id"] for o in response.get_json()["objects"]]


def test_objects_per_batch_edge_and_over(make_client):
    client = make_client(MAX_BATCH_OBJECTS=3)
    ids = object_ids(client, 1, 2, 3, 4)
    assert client.post("/v1/batches", json={"collection_id": "c", "object_ids": ids[:3]}).status_code == 201
    before = stored()
    error = assert_error(client.post("/v1/batches", json={"collection_id": "c", "object_ids": ids}), 413,
                         "batch_too_large")
    assert error["details"] == {"setting": "MAX_BATCH_OBJECTS", "limit": 3, "actual": 4}
    assert stored() == before
    # The same through multipart uploads: refused before a byte is stored.
    assert post_files(client, "/v1/batches", files(1, 1, 1), collection_id="c").status_code == 201
    before = stored()
    assert_error(post_files(client, "/v1/batches", files(1, 1, 1, 1), collection_id="c"), 413, "batch_too_large")
    assert stored() == before


def test_adding_objects_past_the_limit_is_refused_and_leaves_nothing(make_client):
    client = make_client(MAX_BATCH_OBJECTS=3)
    ids = object_ids(client, 1, 2, 3, 4)
    batch_id = client.post("/v1/batches", json={"collection_id": "c", "object_ids": ids[:2]}).get_json()["batch_id"]
    assert client.post(f"/v1/batches/{batch_id}/objects", json={"object_ids": [ids[2]]}).status_code == 200
    assert client.post(f"/v1/batches/{batch_id}/objects", json={"object_ids": ids[:3]}).status_code == 200  # no-op
    before = stored()
    error = assert_error(client.post(f"/v1/batches/{batch_id}/objects", json={"object_ids": [ids[3]]}), 413,
                         "batch_too_large")
    assert error["details"]["actual"] == 4
    assert_error(post_files(client, f"/v1/batches/{batch_id}/objects", files(5)), 413, "batch_too_large")
    assert stored() == before
    assert client.get(f"/v1/batches/{batch_id}").get_json()["progress"]["total"] == 3


def test_bytes_per_batch_edge_and_over(make_client):
    client = make_client(MAX_BATCH_BYTES=100)
    ids = object_ids(client, 40, 40, 20, 21)
    assert client.post("/v1/batches", json={"collection_id": "c", "object_ids": ids[:3]}).status_code == 201
    before = stored()
    error = assert_error(client.post("/v1/batches", json={"collection_id": "c", "object_ids": ids[:2] + ids[3:]}),
                         413, "batch_too_large")
    assert error["details"] == {"setting": "MAX_BATCH_BYTES", "limit": 100, "actual": 101}
    # Uploads are stored while the request is read; a refusal removes them again.
    assert_error(post_files(client, "/v1/batches", files(40, 40, 21), collection_id="c"), 413, "batch_too_large")
    batch_id = client.post("/v1/batches", json={"collection_id": "c", "object_ids": ids[:2]}).get_json()["batch_id"]
    before = stored()
    assert_error(post_files(client, f"/v1/batches/{batch_id}/objects", files(21)), 413, "batch_too_large")
    assert stored() == before
    assert post_files(client, f"/v1/batches/{batch_id}/objects", files(20)).status_code == 200


def test_bytes_per_file_edge_and_over_and_partial_uploads_leave_nothing(make_client):
    client = make_client(MAX_FILE_BYTES=40)
    assert post_files(client, "/v1/objects", files(40)).status_code == 201
    before = stored()
    error = assert_error(post_files(client, "/v1/objects", files(10, 41, 5)), 413, "payload_too_large")
    assert error["details"]["setting"] == "MAX_FILE_BYTES" and error["details"]["limit"] == 40
    assert error["details"]["filename"] == "f1.txt"
    assert stored() == before  # the first, accepted part was removed with the refusal
    assert_error(post_files(client, "/v1/batches", files(10, 41), collection_id="c"), 413, "payload_too_large")
    assert_error(client.post("/v1/objects", json={"text": "x" * 41}), 413, "payload_too_large")
    assert stored() == before


def test_request_body_edge_and_over(make_client):
    client = make_client(MAX_CONTENT_LENGTH=4096)
    envelope = len(b'{"text": ""}')
    at_limit = client.post("/v1/objects", data='{"text": "%s"}' % ("x" * (4096 - envelope)),
                           content_type="application/json")
    assert at_limit.status_code == 201, at_limit.get_json()
    before = stored()
    error = assert_error(client.post("/v1/objects", data='{"text": "%s"}' % ("x" * (4097 - envelope)),
                                     content_type="application/json"), 413, "payload_too_large")
    assert error["details"] == {"setting": "MAX_CONTENT_LENGTH", "limit": 4096, "actual": 4097}
    assert_error(post_files(client, "/v1/objects", files(5000)), 413, "payload_too_large")
    assert stored() == before


def test_multipart_parts_edge_and_over(make_client):
    client = make_client(MAX_MULTIPART_PARTS=3)
    assert post_files(client, "/v1/objects", files(1, 2), bucket="b").status_code == 201  # 3 parts
    before = stored()
    error = assert_error(post_files(client, "/v1/objects", files(1, 2, 3), bucket="b"), 413, "payload_too_large")
    assert error["details"]["setting"] == "MAX_MULTIPART_PARTS" and error["details"]["limit"] == 3
    assert stored() == before


def test_default_limit_is_10000_objects_per_batch(make_client):
    client = make_client()
    assert get_settings().MAX_BATCH_OBJECTS == 10_000
    ids = seed_stored_objects("default", 10_001)
    created = client.post("/v1/batches", json={"collection_id": "c", "object_ids": ids[:10_000]})
    assert created.status_code == 201 and created.get_json()["progress"]["total"] == 10_000
    before = stored()
    error = assert_error(client.post("/v1/batches", json={"collection_id": "c", "object_ids": ids}), 413,
                         "batch_too_large")
    assert error["details"]["actual"] == 10_001
    assert stored() == before
