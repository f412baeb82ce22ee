"""Two deployments on one Redis database, with it or one RabbitMQ vhost as their broker: each worker runs only its own
deployment's tasks (REDIS_PREFIX: kombu's key prefix on Redis, the queues' and exchanges' names on RabbitMQ)."""
import os

import pytest

from app import db
from app.queue import celery_app, configure_celery
from app.settings import load_settings
from tests.integration.rabbitmq import vhost_queues
from tests.integration.stack import Worker, stub_celery, wait_for
from tests.schema import migrate

PREFIXES = ("dep-a:", "dep-b:")
pytestmark = pytest.mark.parametrize("broker_url", ["redis", "rabbitmq"], indirect=True, scope="module")


@pytest.fixture(scope="module")
def deployments(redis_db, broker_url, tmp_path_factory):
    """One real worker per prefix, each with its own SQLite file, all on the same Redis database and broker."""
    redis_db.client.flushdb()
    workers, settings = {}, {}
    try:
        for prefix in PREFIXES:
            data_dir = tmp_path_factory.mktemp(prefix.strip(":"))
            settings[prefix] = {"REDIS_URL": redis_db.url, "REDIS_PREFIX": prefix, "BATCHERY_DATA_DIR": str(data_dir),
                                "CELERY_BROKER_URL": broker_url,
                                "DATABASE_URL": migrate(f"sqlite:///{data_dir / 'batchery.sqlite3'}")}
            workers[prefix] = Worker({**os.environ, **settings[prefix]}, data_dir / "worker.log", concurrency=1)
        for prefix, worker in workers.items():
            as_deployment(settings[prefix])
            worker.wait_ready(celery_app)
        yield {prefix: (workers[prefix], settings[prefix]) for prefix in PREFIXES}
    finally:
        for worker in workers.values():
            worker.stop()
        stub_celery()
        db.dispose_engine()


def as_deployment(settings: dict) -> None:
    """Point this process's Celery app at one deployment (its broker, backend and key prefix)."""
    configure_celery(load_settings(settings, environ={}))


def test_each_deployment_runs_only_its_own_tasks(deployments, redis_db, broker_url):
    sent = []
    for n in range(1, 5):  # interleaved: a shared queue would hand about half of them to the other worker
        for prefix, (_, settings) in deployments.items():
            as_deployment(settings)
            sent.append((prefix, celery_app.send_task("batchery.embed_object", args=("bat_none", -n, "default"))))
    for prefix, result in sent:
        worker, settings = deployments[prefix]
        as_deployment(settings)
        assert result.get(timeout=60)["status"] == "MISSING"
        assert result.worker == worker.name  # result_extended records who ran it

    for worker, settings in deployments.values():  # broadcasts (ping) stay within a deployment too
        as_deployment(settings)
        heard = []  # every answer to every ping, until our worker's reply came within a ping's timeout

        def answered():
            heard.extend(name for reply in celery_app.control.ping(timeout=1) for name in reply)
            return worker.name in heard
        wait_for(answered, 60, interval=0.2, message=f"{worker.name} to answer ping")
        assert set(heard) == {worker.name}

    strays = [k for k in redis_db.client.keys("*") if not k.startswith(PREFIXES)]
    assert strays == []  # queues, bindings, unacked sets and result keys all carry a deployment's prefix
    if broker_url.startswith("amqp://"):   # the work queues, and the workers' broadcast queues, name their deployment
        queues = vhost_queues(broker_url)
        assert {f"{prefix}batchery" for prefix in PREFIXES} <= set(queues)
        assert [name for name in queues if not any(prefix in name for prefix in PREFIXES)] == []
