"""A worker that shares nothing local with the API: its own network namespace, empty data and working directories,
reaching PostgreSQL, Redis, RabbitMQ (Redis when RabbitMQ is missing) and S3 over a veth link.

Where network namespaces cannot be made, the worker runs on the host network with its own empty directories (a
warning says so); everything else is the same.
"""
import io
import os
import re
import subprocess
import warnings

import pytest
from sqlalchemy import func, select

from app import create_app, db
from app.models import Vector
from app.db import session_scope
from app.queue import celery_app
from app.redis_client import use_redis
from tests.fixture_files import ALL_GOOD
from tests.integration.netns import NamespaceUnavailable, WorkerNamespace
from tests.integration.rabbitmq import RabbitUnavailable, RabbitVhost
from tests.integration.stack import PostgresDatabase, Worker, stack_settings, stub_celery, wait_for
from tests.integration.test_pipeline import all_results, watch_until_finished
from tests.s3_server import CREDENTIALS, S3Server
from tests.schema import migrate

FILES = {f"{name}.dat": make() for name, (make, _, _) in ALL_GOOD.items()}   # text kinds, PDF, PNG, JPEG, WAVs
MEDIA = {f"{name}.dat": media for name, (_, media, _) in ALL_GOOD.items()}


@pytest.fixture(scope="module")
def services(redis_db):
    """PostgreSQL, RabbitMQ and an S3 server of this module's own (the Redis database is the session's)."""
    try:
        postgres = PostgresDatabase()
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable ({exc.__class__.__name__}): a shared-nothing worker needs a server")
    opened = [postgres]
    try:
        try:
            rabbit = RabbitVhost()
            opened.append(rabbit)
            broker = rabbit.url
        except RabbitUnavailable as exc:
            warnings.warn(f"RabbitMQ unavailable ({exc}); the shared-nothing worker uses Redis as its broker")
            broker = redis_db.url
        s3 = S3Server()
        opened.append(s3)
        yield {"database": migrate(postgres.url), "redis": redis_db.url, "broker": broker, "s3": s3, "bucket": s3.bucket()}
    finally:
        db.dispose_engine()
        for service in reversed(opened):
            service.stop() if isinstance(service, S3Server) else service.close()


@pytest.fixture(scope="module")
def network():
    """The worker's own network namespace, or None (host network) where namespaces cannot be made."""
    try:
        namespace = WorkerNamespace()
    except NamespaceUnavailable as exc:
        warnings.warn(f"no network namespace ({exc}); the worker shares the host network but no directory")
        yield None
        return
    yield namespace
    namespace.close()


def seen_from(network, url: str) -> str:
    """The URL as the worker reaches it: each 127.0.0.1:port through the namespace's relay."""
    if network is None:
        return url
    return re.sub(r"127\.0\.0\.1:(\d+)", lambda m: network.relay(int(m.group(1))), url)


@pytest.fixture(scope="module")
def remote(services, network, redis_db, tmp_path_factory):
    """The API in this process, and a worker with empty directories of its own in its own network namespace."""
    api_dir, worker_dir, logs = (tmp_path_factory.mktemp(n) for n in ("api-data", "worker-home", "worker-log"))
    storage = {"BATCHERY_STORAGE_URL": f"s3://{services['bucket']}/objects", "REDIS_PREFIX": f"remote-{os.getpid()}:",
               "ITEM_MAX_ATTEMPTS": "10"}   # enough attempts to outlast the S3 outage below
    settings = stack_settings(services["database"], services["redis"], api_dir, services["broker"],
                              BATCHERY_S3_ENDPOINT_URL=services["s3"].url, **storage)
    redis_db.client.flushdb()
    app = create_app(settings)
    use_redis(None)
    worker_settings = stack_settings(
        seen_from(network, services["database"]), seen_from(network, services["redis"]), worker_dir,
        seen_from(network, services["broker"]), BATCHERY_S3_ENDPOINT_URL=seen_from(network, services["s3"].url),
        **storage)
    # Nothing inherited but what runs Python: no data directory, no working directory, no environment of the API's.
    env = {"PATH": os.environ["PATH"], "HOME": str(worker_dir), "LANG": "C.UTF-8", **CREDENTIALS, **worker_settings,
           **{k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")}}
    worker = Worker(env, logs / "worker.log", wrap=network.command if network else None, cwd=worker_dir)
    try:
        worker.wait_ready(celery_app, timeout=120)
        yield {"client": app.test_client(), "worker": worker, "worker_dir": worker_dir, "api_dir": api_dir,
               "network": network, "s3": services["s3"], "bucket": services["bucket"]}
    finally:
        worker.stop()
        db.dispose_engine()
        stub_celery()


def test_a_mixed_batch_completes_exactly_on_a_worker_that_shares_nothing(remote):
    client = remote["client"]
    if remote["network"] is not None:   # the worker really runs in the namespace
        listed = subprocess.run(["ip", "netns", "pids", remote["network"].name], capture_output=True, text=True)
        pids = listed.stdout.split()
        assert str(remote["worker"].process.pid) in pids
    upload = client.post("/v1/objects", data={"file": [(io.BytesIO(data), name) for name, data in FILES.items()]},
                         content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    objects = {o["filename"]: o for o in upload.get_json()["objects"]}
    assert {name: o["media_type"] for name, o in objects.items()} == MEDIA
    assert len(remote["s3"].keys(remote["bucket"])) == len(FILES)          # the bytes went to S3 ...
    assert not (remote["api_dir"] / "objects").exists()                     # ... not to the API's disk

    batch = client.post("/v1/batches", json={"collection_id": "remote", "auto_submit": True, "delete_originals": True,
                                             "object_ids": [o["object_id"] for o in objects.values()]}).get_json()
    final, _ = watch_until_finished(client, batch["batch_id"], timeout=240)
    assert final["status"] == "COMPLETED", final
    summary, results = all_results(client, batch["batch_id"])
    assert summary["successful"] == len(FILES) and {r["status"] for r in results} == {"SUCCEEDED"}
    with session_scope() as session:
        vectors = session.scalar(select(func.count()).select_from(Vector).where(Vector.collection_id == "remote"))
    assert vectors == sum(r["chunks"] for r in results) >= len(FILES)

    # delete_originals ran on the worker, against S3; the worker wrote nothing of its own anywhere local.
    assert remote["s3"].keys(remote["bucket"]) == []
    assert all(client.get(f"/v1/objects/{o['object_id']}").get_json()["stored"] is False for o in objects.values())
    assert sorted(p.name for p in remote["worker_dir"].rglob("*")) == []


def test_an_s3_outage_delays_items_but_fails_none(remote):
    network = remote["network"]
    if network is None:
        pytest.skip("the outage is made by cutting the namespace's link to S3; no namespace here")
    client, s3_port = remote["client"], remote["s3"].port
    parts = [(io.BytesIO(f"outage text {i}: the store went away and came back.".encode()), f"o{i}.txt") for i in range(6)]
    ids = [o["object_id"] for o in client.post("/v1/objects", data={"file": parts},
                                               content_type="multipart/form-data").get_json()["objects"]]
    network.cut(s3_port)
    try:
        batch = client.post("/v1/batches", json={"collection_id": "outage", "object_ids": ids,
                                                 "auto_submit": True}).get_json()

        def retried():
            _, results = all_results(client, batch["batch_id"])
            return sum(r["attempts"] >= 2 for r in results) >= 2
        wait_for(retried, 120, interval=0.5, message="items to be retried during the outage")
        assert client.get(f"/v1/batches/{batch['batch_id']}").get_json()["progress"]["succeeded"] == 0
    finally:
        network.restore(s3_port)
    final, _ = watch_until_finished(client, batch["batch_id"], timeout=300)
    assert final["status"] == "COMPLETED", final
    _, results = all_results(client, batch["batch_id"])
    assert {r["status"] for r in results} == {"SUCCEEDED"} and max(r["attempts"] for r in results) >= 2
