"""Two deployments on one Redis database: each worker runs only its own deployment's tasks (REDIS_PREFIX)."""
import os

import pytest

from app import db
from app.queue import celery_app, point_celery_at, use_key_prefix
from tests.integration.stack import Worker

PREFIXES = ("dep-a:", "dep-b:")


@pytest.fixture(scope="module")
def deployments(redis_db, tmp_path_factory):
    """One real worker per prefix, each with its own SQLite file, all on the same Redis database."""
    redis_db.client.flushdb()
    point_celery_at(redis_db.url, redis_db.url)
    workers = {}
    try:
        for prefix in PREFIXES:
            data_dir = tmp_path_factory.mktemp(prefix.strip(":"))
            env = {**os.environ, "REDIS_URL": redis_db.url, "CELERY_BROKER_URL": redis_db.url,
                   "CELERY_RESULT_BACKEND": redis_db.url, "REDIS_PREFIX": prefix, "BATCHERY_DATA_DIR": str(data_dir),
                   "DATABASE_URL": f"sqlite:///{data_dir / 'batchery.sqlite3'}"}
            workers[prefix] = Worker(env, data_dir / "worker.log", concurrency=1)
        for prefix, worker in workers.items():
            use_key_prefix(prefix)
            worker.wait_ready(celery_app)
        yield workers
    finally:
        for worker in workers.values():
            worker.stop()
        use_key_prefix("batchery:")
        point_celery_at("memory://", "cache+memory://")
        db.dispose_engine()


def test_each_deployment_runs_only_its_own_tasks(deployments, redis_db):
    from tasks.batch import embed_object

    sent = []
    for n in range(1, 5):  # interleaved: a shared queue would hand about half of them to the other worker
        for prefix in PREFIXES:
            use_key_prefix(prefix)
            sent.append((prefix, embed_object.apply_async(("bat_none", -n, "default"))))
    for prefix, result in sent:
        use_key_prefix(prefix)
        assert result.get(timeout=60)["status"] == "MISSING"
        assert result.worker == deployments[prefix].name  # result_extended records who ran it

    for prefix, worker in deployments.items():  # broadcasts (ping) stay within a deployment too
        use_key_prefix(prefix)
        assert [name for reply in celery_app.control.ping(timeout=5) for name in reply] == [worker.name]

    strays = [k for k in redis_db.client.keys("*") if not k.startswith(PREFIXES)]
    assert strays == []  # queues, bindings, unacked sets and result keys all carry a deployment's prefix
