"""Small request helpers shared by the API tests."""
import io


def upload(client, files: dict[str, bytes], **form):
    """POST /v1/objects with one `file` part per entry; returns the response."""
    data = {**form, "file": [(io.BytesIO(content), name) for name, content in files.items()]}
    return client.post("/v1/objects", data=data, content_type="multipart/form-data")


def text_objects(client, count: int, prefix: str = "doc") -> list[str]:
    """Create `count` small text objects and return their ids."""
    files = {f"{prefix}-{i}.txt": f"{prefix} number {i}. Some words about topic {i % 7}.".encode() for i in range(count)}
    response = upload(client, files)
    assert response.status_code == 201, response.get_json()
    return [o["object_id"] for o in response.get_json()["objects"]]


def new_batch(client, object_ids, collection_id="docs", **fields):
    """Create a batch and return its JSON."""
    response = client.post("/v1/batches", json={"collection_id": collection_id, "object_ids": object_ids, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assert_error(response, status: int, error_type: str) -> dict:
    """The response is the contract's error envelope with this status and type."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["type"] == error_type
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def seed_stored_objects(namespace: str, count: int) -> list[str]:
    """Insert `count` object rows directly (no files: for limit tests that never process them); their ids."""
    from app.db import session_scope
    from app.models import StoredObject

    with session_scope() as session:
        rows = [StoredObject(namespace=namespace, bucket="default", filename=f"f{i}.txt", media_type="text/plain",
                             size_bytes=1, sha256=f"{i:064x}", storage_path=f"none/{i}") for i in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]
