"""Every size limit at its edge and just over: 413 in the contract's shape, and nothing of a refused request stored."""
import io
import json

import pytest
from sqlalchemy import func, select

from app import create_app, db
from app.settings import get_settings
from app.db import session_scope
from app.models import Batch, BatchItem, IdempotencyRecord, StoredObject
from tests.helpers import assert_error, seed_stored_objects


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


def test_limits_endpoint_lists_every_limit_in_force(make_client):
    client = make_client(MAX_BATCH_OBJECTS=7, MAX_METADATA_BYTES=99, MAX_ITEM_CHUNKS=12)
    limits = client.get("/v1/limits").get_json()
    settings = get_settings()
    for name in ("max_batch_objects", "max_batch_bytes", "max_file_bytes", "max_content_length",
                 "max_multipart_parts", "max_metadata_bytes", "max_item_chunks", "max_item_chars", "max_image_pixels"):
        assert limits[name] == getattr(settings, name.upper()), name
    assert (limits["max_batch_objects"], limits["max_metadata_bytes"], limits["max_item_chunks"]) == (7, 99, 12)


def _metadata_of_size(size: int) -> dict:
    """Metadata whose compact JSON is exactly `size` bytes ({"k":"…"} is 8 bytes around the value)."""
    return {"k": "é" * ((size - 8) // 2) + "x" * ((size - 8) % 2)}


def test_metadata_edge_and_over_for_objects_and_batches(make_client):
    client = make_client(MAX_METADATA_BYTES=200)
    at_limit, over = _metadata_of_size(200), _metadata_of_size(201)
    assert client.post("/v1/objects", json={"text": "a", "metadata": at_limit}).status_code == 201
    assert client.post("/v1/batches", json={"collection_id": "c", "metadata": at_limit}).status_code == 201
    assert post_files(client, "/v1/objects", files(3), metadata=json.dumps(at_limit)).status_code == 201
    before = stored()
    for response in (client.post("/v1/objects", json={"text": "b", "metadata": over}),
                     post_files(client, "/v1/objects", files(3), metadata=json.dumps(over)),
                     client.post("/v1/batches", json={"collection_id": "c", "metadata": over}),
                     post_files(client, "/v1/batches", files(3), collection_id="c", metadata=json.dumps(over))):
        error = assert_error(response, 413, "payload_too_large")
        assert error["details"] == {"setting": "MAX_METADATA_BYTES", "limit": 200, "actual": 201}
    assert stored() == before


def test_default_metadata_limit_refuses_the_10_mb_metadata_of_the_report(make_client):
    client = make_client()
    error = assert_error(client.post("/v1/objects", json={"text": "a", "metadata": {"k": "x" * 10_000_000}}), 413,
                         "payload_too_large")
    assert error["details"]["limit"] == 16 * 1024


def chunked(client, path, body: bytes, content_type: str):
    """POST a body without Content-Length, as a chunked request reaches the app from gunicorn."""
    return client.post(path, input_stream=io.BytesIO(body), content_type=content_type,
                       environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})


def test_a_chunked_body_over_the_limit_is_refused_naming_max_content_length(make_client):
    client = make_client(MAX_CONTENT_LENGTH=4096)
    envelope = len(b'{"text": ""}')
    at_limit = chunked(client, "/v1/objects", b'{"text": "%s"}' % (b"x" * (4096 - envelope)), "application/json")
    assert at_limit.status_code == 201, at_limit.get_json()
    before = stored()
    # A JSON body used to be cut at the limit and read as if it were complete.
    for extra in (1, 10_000):
        error = assert_error(chunked(client, "/v1/objects", b'{"text": "%s"}' % (b"x" * (4096 - envelope + extra)),
                                     "application/json"), 413, "payload_too_large")
        assert error["details"] == {"setting": "MAX_CONTENT_LENGTH", "limit": 4096}
        assert "MAX_CONTENT_LENGTH" in error["message"]
    boundary = "b0undary"
    multipart = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'.encode()
                 + b"y" * 6000 + f"\r\n--{boundary}--\r\n".encode())
    error = assert_error(chunked(client, "/v1/objects", multipart, f"multipart/form-data; boundary={boundary}"),
                         413, "payload_too_large")
    assert error["details"]["setting"] == "MAX_CONTENT_LENGTH" and "MAX_CONTENT_LENGTH" in error["message"]
    assert stored() == before
