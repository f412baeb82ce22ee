"""POST/GET/DELETE /v1/objects through the Flask test client."""
import hashlib

from app.settings import get_settings
from tests.helpers import assert_error, upload


def test_multipart_upload_of_several_files_records_hash_size_and_sniffed_type(client):
    response = upload(client, {"a.txt": b"hello world", "b.json": b'{"k": [1, 2]}'}, bucket="inbox")
    assert response.status_code == 201
    objects = response.get_json()["objects"]
    assert [o["filename"] for o in objects] == ["a.txt", "b.json"]
    assert objects[0]["sha256"] == hashlib.sha256(b"hello world").hexdigest()
    assert objects[0]["size_bytes"] == 11
    assert objects[0]["media_type"] == "text/plain"
    assert objects[1]["media_type"] == "application/json"
    assert {o["bucket"] for o in objects} == {"inbox"}
    assert all(o["object_id"].startswith("obj_") for o in objects)


def test_inline_text_object(client):
    response = client.post("/v1/objects", json={"text": "Inline words.", "filename": "note.txt", "metadata": {"a": 1}})
    assert response.status_code == 201
    obj = response.get_json()["objects"][0]
    assert obj["filename"] == "note.txt" and obj["size_bytes"] == len("Inline words.")
    assert obj["metadata"] == {"a": 1}


def test_client_filename_never_becomes_a_path(client, app):
    response = upload(client, {"../../etc/passwd": b"not a password file"})
    assert response.status_code == 201
    obj = response.get_json()["objects"][0]
    assert obj["filename"] == "passwd"
    root = get_settings().objects_dir
    stored = [p for p in root.rglob("*") if p.is_file()]
    assert len(stored) == 1 and "passwd" not in stored[0].name
    assert stored[0].resolve().is_relative_to(root.resolve())


def test_get_list_and_delete(client):
    ids = [o["object_id"] for o in upload(client, {f"f{i}.txt": f"file {i}".encode() for i in range(5)}).get_json()["objects"]]
    assert client.get(f"/v1/objects/{ids[0]}").get_json()["object_id"] == ids[0]
    first = client.get("/v1/objects?limit=2").get_json()
    assert [o["object_id"] for o in first["objects"]] == ids[::-1][:2]  # newest first
    second = client.get(f"/v1/objects?limit=2&cursor={first['next_cursor']}").get_json()
    third = client.get(f"/v1/objects?limit=2&cursor={second['next_cursor']}").get_json()
    assert [o["object_id"] for o in second["objects"] + third["objects"]] == ids[::-1][2:]
    assert third["next_cursor"] is None
    assert client.delete(f"/v1/objects/{ids[0]}").status_code == 204
    assert_error(client.get(f"/v1/objects/{ids[0]}"), 404, "not_found")
    assert len([p for p in get_settings().objects_dir.rglob("*") if p.is_file()]) == 4


def test_bucket_filter(client):
    upload(client, {"a.txt": b"a"}, bucket="one")
    upload(client, {"b.txt": b"b"}, bucket="two")
    listed = client.get("/v1/objects?bucket=two").get_json()["objects"]
    assert [o["filename"] for o in listed] == ["b.txt"]


def test_other_namespace_sees_not_found(client):
    object_id = upload(client, {"a.txt": b"a"}).get_json()["objects"][0]["object_id"]
    other = {"X-Namespace": "team-b"}
    assert_error(client.get(f"/v1/objects/{object_id}", headers=other), 404, "not_found")
    assert_error(client.delete(f"/v1/objects/{object_id}", headers=other), 404, "not_found")
    assert client.get("/v1/objects", headers=other).get_json()["objects"] == []


def test_bad_object_requests(client):
    assert_error(client.post("/v1/objects", data="{not json", content_type="application/json"), 400, "validation_error")
    error = assert_error(client.post("/v1/objects", json={"text": "x", "colour": "red"}), 422, "validation_error")
    assert "colour" in error["details"]["fields"]
    assert_error(client.post("/v1/objects", json={"text": ""}), 422, "validation_error")
    assert_error(client.post("/v1/objects", json=["text"]), 422, "validation_error")
    assert_error(client.post("/v1/objects", data={"bucket": "x"}, content_type="multipart/form-data"),
                 422, "validation_error")
    assert_error(upload(client, {"a.txt": b"a"}, metadata="{oops"), 422, "validation_error")
    assert_error(client.get("/v1/objects?limit=0"), 422, "validation_error")
    assert_error(client.get("/v1/objects?cursor=%%%"), 422, "validation_error")
