"""Flower against a real worker: `celery -A tasks flower` lists our worker and its tasks with readable names and args."""

import pytest
import requests

from app.embedded import free_port
from app.queue import celery_app
from tests.integration.stack import CeleryProcess, wait_for
from tests.integration.test_pipeline import upload_texts, watch_until_finished

AUTH = ("flower", "test-password")


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    """Flower only reads the broker, so one database (SQLite) is enough for this module."""
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'batchery.sqlite3'}"


class Flower(CeleryProcess):
    """A real `celery -A tasks flower` on a free loopback port with basic auth; stopped with its process group."""

    def __init__(self, env: dict, log_path):
        self.url = f"http://127.0.0.1:{free_port()}"
        super().__init__(["flower", "--address=127.0.0.1", f"--port={self.url.rsplit(':', 1)[1]}",
                          f"--basic_auth={AUTH[0]}:{AUTH[1]}", "--inspect_timeout=3000"], env, log_path)

    def get(self, path: str, **params):
        """GET a Flower API path as the configured user; the decoded JSON."""
        response = requests.get(f"{self.url}{path}", params=params, auth=AUTH, timeout=10)
        response.raise_for_status()
        return response.json()

    def wait_ready(self, timeout: float = 60):
        """Wait until Flower answers its health check."""
        def answered():
            self.assert_running("flower")
            try:
                return requests.get(f"{self.url}/healthcheck", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False
        wait_for(answered, timeout, interval=0.2, message="Flower to answer")
        return self


@pytest.fixture(scope="module")
def flower(stack):
    """Flower watching the stack's broker."""
    process = Flower(stack["env"], stack["data_dir"] / "flower.log").wait_ready()
    # Workers send task events only when asked (celeryconfig); Flower asks every few seconds, this asks now.
    celery_app.control.enable_events(destination=[stack["worker"].name])
    yield process
    process.stop()


def test_flower_shows_our_worker_and_tasks(stack, flower):
    client, worker = stack["client"], stack["worker"]
    assert requests.get(f"{flower.url}/api/workers", timeout=10).status_code == 401  # the API wants the password
    ids = upload_texts(client, 5, "flower")
    batch_id = client.post("/v1/batches", json={"collection_id": "flower", "object_ids": ids,
                                                "auto_submit": True}).get_json()["batch_id"]
    final, _ = watch_until_finished(client, batch_id)
    assert final["status"] == "COMPLETED"

    workers = wait_for(lambda: worker.name in (w := flower.get("/api/workers", refresh="true")) and w, 60,
                       interval=0.5, message="Flower to list the worker")
    registered = workers[worker.name]["registered"]
    assert {"batchery.dispatch_batch", "batchery.embed_object", "batchery.finalize_batch"} <= set(registered)

    def embeds_done():
        tasks = flower.get("/api/tasks", taskname="batchery.embed_object", state="SUCCESS")
        mine = [t for t in tasks.values() if batch_id in (t.get("args") or "")]
        return mine if len(mine) == 5 else None
    embeds = wait_for(embeds_done, 60, interval=0.5, message="Flower to list the five embed_object tasks")
    for task in embeds:
        assert task["name"] == "batchery.embed_object" and task["worker"] == worker.name
        assert task["args"].startswith(f"('{batch_id}', ") and task["args"].endswith(", 'default')")
    names = {t["name"] for t in flower.get("/api/tasks").values() if batch_id in (t.get("args") or "")}
    assert names == {"batchery.dispatch_batch", "batchery.embed_object", "batchery.finalize_batch"}
