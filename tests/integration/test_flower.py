"""Flower from the Procfile against a real worker: it asks for a password, and lists our worker and its tasks."""

import pytest
import requests

from app.embedded import free_port
from app.queue import celery_app
from tests.integration.procfile import ProcfileProcess
from tests.integration.stack import wait_for
from tests.schema import migrate
from tests.integration.test_pipeline import upload_texts, watch_until_finished

AUTH = ("flower", "test-password")


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    """Flower only reads the broker, so one database (SQLite) is enough for this module."""
    return migrate(f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'batchery.sqlite3'}")


class Flower(ProcfileProcess):
    """The Procfile's `flower` on a free loopback port with basic auth; stopped with its process group."""

    def __init__(self, env: dict, log_path):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        super().__init__("flower", {**env, "FLOWER_PORT": str(port), "FLOWER_BASIC_AUTH": f"{AUTH[0]}:{AUTH[1]}"},
                         log_path)

    def get(self, path: str, **params):
        """GET a Flower API path as the configured user; the decoded JSON."""
        response = requests.get(f"{self.url}{path}", params=params, auth=AUTH, timeout=10)
        response.raise_for_status()
        return response.json()

    def wait_ready(self, worker_name: str, timeout: float = 90):
        """Wait until Flower answers and its event receiver has heard from the worker.

        Flower learns of tasks only from events it receives; one sent before its receiver subscribed is
        lost. The worker's heartbeat reaching Flower's event state proves the receiver is listening.
        """
        def answered():
            self.assert_running("flower")
            try:
                return requests.get(f"{self.url}/healthcheck", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False
        wait_for(answered, timeout, interval=0.2, message="Flower to answer")
        wait_for(lambda: worker_name in self.get("/api/workers", status="true"), timeout, interval=0.5,
                 message="Flower's event receiver to hear the worker's heartbeat")
        return self


@pytest.fixture(scope="module")
def flower(stack):
    """Flower watching the stack's broker."""
    process = Flower(stack["env"], stack["data_dir"] / "flower.log").wait_ready(stack["worker"].name)
    # Workers send task events only when asked (app.settings); Flower asks every few seconds, this asks now and
    # waits for the worker's answer: a task the worker receives before it has enabled them is never reported.
    stack["worker"].control(celery_app, "enable_events")
    yield process
    process.stop()


def test_flower_refuses_to_start_without_a_password(stack):
    env = {k: v for k, v in stack["env"].items() if k != "FLOWER_BASIC_AUTH"}
    process = ProcfileProcess("flower", {**env, "FLOWER_PORT": str(free_port())}, stack["data_dir"] / "no-auth.log")
    try:
        assert process.exited_with(30) != 0
        assert "set FLOWER_BASIC_AUTH=user:password" in process.log_text()
    finally:
        process.stop()


def test_flower_shows_our_worker_and_tasks(stack, flower):
    client, worker = stack["client"], stack["worker"]
    for path in ("/", "/tasks", "/api/workers"):  # the UI, not only the API, wants the password
        assert requests.get(f"{flower.url}{path}", timeout=10).status_code == 401, path
    assert requests.get(f"{flower.url}/", auth=AUTH, timeout=10).status_code == 200
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

    def names():  # Flower hears of each task from events that arrive apart, in no promised order
        found = {t["name"] for t in flower.get("/api/tasks").values() if batch_id in (t.get("args") or "")}
        return found if "batchery.finalize_batch" in found else None
    assert wait_for(names, 60, interval=0.5, message="Flower to list the finalize_batch task") == {
        "batchery.dispatch_batch", "batchery.embed_object", "batchery.finalize_batch"}
