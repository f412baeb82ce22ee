"""Both storage backends, file and S3 (a real moto server on loopback), behind the one interface."""
import hashlib
import io
import os
import time
import tracemalloc

import pytest
from celery.exceptions import Retry

from tests.overrides import with_overrides
from app.errors import PayloadTooLarge
from app.objects import storage
from app.objects.s3_store import S3Store
from tests.s3_server import S3Server


@pytest.fixture(scope="module")
def s3_server():
    """One moto server for the module."""
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture(params=["file", "s3"])
def store_url(request, app, tmp_path):
    """The app configured with each backend in turn; yields (kind, url)."""
    if request.param == "file":
        url = (tmp_path / "store").as_uri()
        with_overrides(BATCHERY_STORAGE_URL=url)
    else:
        server = request.getfixturevalue("s3_server")
        url = f"s3://{server.bucket()}/tenant/objects"
        with_overrides(BATCHERY_STORAGE_URL=url, BATCHERY_S3_ENDPOINT_URL=server.url)
    yield request.param, url
    storage.forget_clients()


class Generated(io.RawIOBase):
    """A stream of `size` pseudo-random bytes made as it is read (the test itself never holds the file)."""

    def __init__(self, size: int):
        self.left, self.digest, self.counter = size, hashlib.sha256(), 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left)
        block = (hashlib.sha256(str(self.counter).encode()).digest() * (n // 32 + 1))[:n]
        self.counter += 1
        self.left -= n
        self.digest.update(block)
        return block


def test_round_trip_sizes_and_hashes(store_url):
    stored = storage.save_stream(io.BytesIO(b"%PDF-1.4 hello"), max_bytes=100)
    assert stored.size == 14 and stored.sha256 == hashlib.sha256(b"%PDF-1.4 hello").hexdigest()
    assert stored.head == b"%PDF-1.4 hello"
    assert storage.read_bytes(stored.key) == b"%PDF-1.4 hello"
    empty = storage.save_stream(io.BytesIO(b""))
    assert storage.read_bytes(empty.key) == b"" and empty.size == 0


def test_large_upload_streams_in_parts_with_bounded_memory(store_url, monkeypatch):
    monkeypatch.setattr(S3Store, "part_bytes", 5 * 1024 * 1024)
    size = 48 * 1024 * 1024 + 123  # ten parts, the last one short
    source = Generated(size)
    storage.save_stream(io.BytesIO(b"warm up"))  # the S3 client's service model is loaded once, not per upload
    tracemalloc.start()
    try:
        stored = storage.save_stream(source, max_bytes=size)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stored.size == size and stored.sha256 == source.digest.hexdigest()
    # A few parts' worth (the buffer, the part being sent, the HTTP layer's view of it), never the whole file.
    assert peak < 24 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte upload"
    data = storage.read_bytes(stored.key)
    assert len(data) == size and hashlib.sha256(data).hexdigest() == stored.sha256


def test_over_the_limit_leaves_nothing_behind(store_url, monkeypatch):
    monkeypatch.setattr(S3Store, "part_bytes", 5 * 1024 * 1024)
    with pytest.raises(PayloadTooLarge) as refused:
        storage.save_stream(Generated(12 * 1024 * 1024), max_bytes=11 * 1024 * 1024)
    assert refused.value.details["limit"] == 11 * 1024 * 1024
    assert list(storage.stored_before(float("inf"))) == []
    assert storage.abandon_uploads(float("inf")) == 0  # the multipart upload was aborted at once


def test_delete_is_idempotent_and_a_missing_key_reads_as_missing(store_url):
    stored = storage.save_stream(io.BytesIO(b"gone soon"))
    storage.delete(stored.key)
    storage.delete(stored.key)
    with pytest.raises(FileNotFoundError):
        storage.read_bytes(stored.key)


def test_deleting_an_object_through_the_api_removes_its_bytes(store_url, client):
    [obj] = client.post("/v1/objects", data={"file": (io.BytesIO(b"delete me"), "a.txt")}).get_json()["objects"]
    assert len(list(storage.stored_before(float("inf")))) == 1
    assert client.delete(f"/v1/objects/{obj['object_id']}").status_code == 204
    assert list(storage.stored_before(float("inf"))) == []


def test_stored_before_lists_only_old_keys_under_the_prefix(store_url):
    keys = {storage.save_stream(io.BytesIO(f"file {i}".encode())).key for i in range(3)}
    assert set(storage.stored_before(time.time() + 60)) == keys
    assert list(storage.stored_before(time.time() - 3600)) == []


def test_s3_keys_live_under_the_configured_prefix(app, s3_server):
    bucket = s3_server.bucket()
    with_overrides(BATCHERY_STORAGE_URL=f"s3://{bucket}/tenant/objects", BATCHERY_S3_ENDPOINT_URL=s3_server.url)
    stored = storage.save_stream(io.BytesIO(b"where am I"))
    assert s3_server.keys(bucket) == [f"tenant/objects/{stored.key}"]
    storage.forget_clients()


@pytest.mark.parametrize("url", ["ftp://somewhere/x", "s3:///no-bucket", "file://"])
def test_a_malformed_storage_url_is_refused_clearly(app, url):
    with_overrides(BATCHERY_STORAGE_URL=url)
    with pytest.raises(ValueError, match="file:///path or s3://bucket/prefix"):
        storage.read_bytes("ab/cd")


def test_a_file_url_with_spaces_is_a_directory_with_spaces(app, tmp_path):
    root = tmp_path / "my objects"
    with_overrides(BATCHERY_STORAGE_URL=root.as_uri())
    stored = storage.save_stream(io.BytesIO(b"spaced"))
    assert (root / stored.key).read_bytes() == b"spaced"
    storage.forget_clients()


def dead_s3(app):
    """Point storage at a loopback port nobody listens on (an outage)."""
    from app.embedded import free_port

    with_overrides(BATCHERY_STORAGE_URL="s3://down/objects", BATCHERY_S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


def test_an_outage_is_storage_unavailable_a_connection_error(app):
    dead_s3(app)
    for call in (lambda: storage.read_bytes("ab/cd"), lambda: storage.save_stream(io.BytesIO(b"x")),
                 lambda: list(storage.stored_before(time.time()))):
        with pytest.raises(storage.StorageUnavailable):
            call()
    assert issubclass(storage.StorageUnavailable, ConnectionError)
    storage.forget_clients()


def test_a_worker_retries_an_item_during_an_outage_instead_of_failing_it(app, monkeypatch):
    from app.batches import catalog, lifecycle
    from app.objects.catalog import Upload
    from tests.batches.test_item_retries import deliver, stored

    batch = catalog.create_batch("default", "docs", uploads=[Upload("a.txt", io.BytesIO(b"stored before the outage"))])
    lifecycle.submit_batch("default", batch.id)
    [item_id] = lifecycle.start_processing(batch.id, "default").item_ids
    from tasks.batch import embed_object
    asked = []
    monkeypatch.setattr(embed_object, "retry", lambda exc=None, countdown=None, **_: asked.append(exc) or Retry())
    dead_s3(app)
    with pytest.raises(Retry):
        deliver(batch.id, item_id, 0)
    assert isinstance(asked[0], storage.StorageUnavailable)
    assert stored(item_id).status == "PROCESSING"
    storage.forget_clients()


def test_an_upload_during_an_outage_is_a_503_with_nothing_created(client):
    dead_s3(client.application)
    answer = client.post("/v1/objects", data={"file": (io.BytesIO(b"hello"), "a.txt")})
    assert answer.status_code == 503, answer.get_json()
    assert answer.get_json()["error"]["type"] == "service_unavailable"
    assert answer.get_json()["error"]["details"] == {"dependency": "object storage"}
    storage.forget_clients()
    assert client.get("/v1/objects").get_json()["objects"] == []


def test_orphan_cleanup_removes_unreferenced_bytes_and_unfinished_uploads(store_url, client):
    from app.settings import get_settings
    from app.maintenance import cleanup

    [kept] = client.post("/v1/objects", data={"file": (io.BytesIO(b"referenced"), "a.txt")}).get_json()["objects"]
    orphan = storage.save_stream(io.BytesIO(b"no row points here")).key
    unfinished = 0
    if store_url[0] == "s3":  # a multipart upload its web process never completed (it died mid-upload)
        store = storage._store()
        store.client.create_multipart_upload(Bucket=store.bucket, Key=store.prefix + "ab/unfinished")
        unfinished = 1
    later = time.time() + get_settings().ORPHAN_FILE_GRACE_SECONDS + 60
    # Everything is younger than the grace period (moto reports every multipart upload as started in 2010,
    # so on S3 the unfinished upload may already go in this first pass).
    first = cleanup.remove_orphaned_files()
    assert first <= unfinished and len(list(storage.stored_before(float("inf")))) == 2
    assert first + cleanup.remove_orphaned_files(now=later) == 1 + unfinished
    assert list(storage.stored_before(float("inf"))) == [_key_of(kept["object_id"])]
    assert storage.abandon_uploads(float("inf")) == 0
    with pytest.raises(FileNotFoundError):
        storage.read_bytes(orphan)


def _key_of(object_id: str) -> str:
    """The storage key of an object row."""
    from app.db import session_scope
    from app.models import StoredObject

    with session_scope() as session:
        return session.get(StoredObject, object_id).storage_path


def test_bytes_a_failed_release_left_behind_are_cleaned_up(store_url, client, monkeypatch):
    from app.batches import originals
    from app.settings import get_settings
    from app.maintenance import cleanup

    [obj] = client.post("/v1/objects", data={"file": (io.BytesIO(b"embedded, then released"), "a.txt")}).get_json()[
        "objects"]
    monkeypatch.setattr(storage, "delete", lambda key: (_ for _ in ()).throw(storage.StorageUnavailable("down")))
    originals.release_quietly(obj["object_id"], item_id=0)   # the row is marked; deleting the bytes failed
    monkeypatch.undo()
    assert client.get(f"/v1/objects/{obj['object_id']}").get_json()["stored"] is False
    assert len(list(storage.stored_before(float("inf")))) == 1
    later = time.time() + get_settings().ORPHAN_FILE_GRACE_SECONDS + 60
    assert cleanup.remove_orphaned_files(now=later) == 1
    assert list(storage.stored_before(float("inf"))) == []
