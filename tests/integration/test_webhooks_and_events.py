"""Push notifications with a real worker: signed webhooks to a loopback receiver, retries, SSE through gunicorn."""
import io
import os
import signal
import subprocess
import sys

import pytest
import requests

from app.embedded import free_port
from schemas.webhooks import EVENT_TYPES
from tests.integration.stack import ROOT, wait_for
from tests.sse_client import read_stream
from tests.webhook_receiver import Receiver, verify_signature

FINISHED = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"}
MAX_ATTEMPTS = 4


@pytest.fixture(scope="module")
def extra_settings():
    """Loopback receivers allowed (tests only), fast retries, a quick event stream."""
    return {"WEBHOOK_ALLOW_PRIVATE": "1", "WEBHOOK_BACKOFF_BASE_MS": "300", "WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "WEBHOOK_TIMEOUT_SECONDS": "3", "SSE_POLL_MS": "100", "SSE_HEARTBEAT_SECONDS": "2"}


@pytest.fixture(scope="module")
def worker_args():
    """The slow-file fault: files named `slow-<ms>-*` take that long, so a stream sees progress between its polls."""
    return ("--include", "tests.faults.slow_worker")


@pytest.fixture(scope="module")
def receiver(stack):
    """A fresh loopback receiver per stack (per database)."""
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gunicorn(stack):
    """The real web process (gthread workers) on a free loopback port, sharing the stack's database and Redis."""
    port = free_port()
    log = open(stack["data_dir"] / "gunicorn.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
         "--timeout", "60", "app:create_app()"],
        cwd=ROOT, env=stack["env"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up():
        if process.poll() is not None:
            raise AssertionError((stack["data_dir"] / "gunicorn.log").read_text()[-3000:])
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:  # not listening yet, or still importing the app
            return False
    wait_for(up, 60, interval=0.2, message="gunicorn to answer")
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.close()


def new_texts(client, namespace, count, prefix=""):
    """Upload `count` distinct small text files in a namespace (names start with `prefix`); their object ids."""
    files = [(io.BytesIO(f"{namespace} text {i}: facts about topic {i % 5}.".encode()), f"{prefix}{namespace}-{i}.txt")
             for i in range(count)]
    response = client.post("/v1/objects", data={"file": files}, content_type="multipart/form-data",
                           headers={"X-Namespace": namespace})
    assert response.status_code == 201, response.get_json()
    return [o["object_id"] for o in response.get_json()["objects"]]


def run_batch(client, namespace, count, **fields):
    """Create and submit a batch, then wait for it to finish; its final JSON."""
    headers = {"X-Namespace": namespace}
    body = {"collection_id": namespace, "object_ids": new_texts(client, namespace, count), "auto_submit": True, **fields}
    batch = client.post("/v1/batches", json=body, headers=headers).get_json()
    return wait_for(lambda: (b := client.get(f"/v1/batches/{batch['batch_id']}", headers=headers).get_json())
                    ["status"] in FINISHED and b, 120, message="the batch to finish")


def subscribe(client, namespace, url, events):
    response = client.post("/v1/webhooks", json={"url": url, "events": events}, headers={"X-Namespace": namespace})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deliveries(client, namespace, webhook_id):
    return client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers={"X-Namespace": namespace}).get_json()["deliveries"]


def test_loopback_receiver_gets_signed_events(stack, receiver):
    client = stack["client"]
    hook = subscribe(client, "signed", receiver.url("/signed-all"), list(EVENT_TYPES))
    final = run_batch(client, "signed", 5, webhook_url=receiver.url("/signed-own"), webhook_secret="own-secret-123")
    assert final["status"] == "COMPLETED"
    wanted = {"batch.submitted", "collection.documents.written", "batch.completed"}
    for path in ("/signed-all", "/signed-own"):
        wait_for(lambda: {r["json"]["type"] for r in receiver.received(path)} == wanted, 30, message=f"events at {path}")

    by_target = {}
    for path, secret in (("/signed-all", hook["secret"]), ("/signed-own", "own-secret-123")):
        got = receiver.received(path)
        assert len(got) == 3
        for request in got:
            assert verify_signature(secret, request["headers"]["Batchery-Signature"], request["body"])
            assert request["json"]["data"]["batch_id"] == final["batch_id"]
        by_target[path] = {r["json"]["type"]: r["json"] for r in got}
    assert by_target["/signed-all"] == by_target["/signed-own"]           # the same events, same ids
    events = by_target["/signed-own"]
    assert len({e["event_id"] for e in events.values()}) == 3
    assert events["batch.completed"]["data"]["status"] == "COMPLETED"
    assert events["batch.completed"]["data"]["counts"]["succeeded"] == 5
    assert events["collection.documents.written"]["data"]["documents"] == 5
    assert events["collection.documents.written"]["data"]["vectors"] >= 5
    assert not verify_signature("wrong-secret", got[0]["headers"]["Batchery-Signature"], got[0]["body"])
    logged = wait_for(lambda: len(d := deliveries(client, "signed", hook["webhook_id"])) == 3 and d, 10)
    assert {(d["attempt"], d["status_code"], d["outcome"]) for d in logged} == {(1, 200, "delivered")}


def test_receiver_failing_twice_gets_the_same_event_a_third_time(stack, receiver):
    client = stack["client"]
    receiver.fail_first["/flaky"] = 2
    hook = subscribe(client, "flaky", receiver.url("/flaky"), ["batch.completed"])
    final = run_batch(client, "flaky", 3)
    assert final["status"] == "COMPLETED"        # the failing receiver did not hold the batch back
    wait_for(lambda: len(receiver.received("/flaky")) == 3, 30, message="three delivery attempts")
    got = receiver.received("/flaky")
    assert [r["status"] for r in got] == [500, 500, 200]
    assert len({r["json"]["event_id"] for r in got}) == 1 and got[0]["json"]["type"] == "batch.completed"
    assert [r["headers"]["Batchery-Delivery-Attempt"] for r in got] == ["1", "2", "3"]
    logged = wait_for(lambda: len(d := deliveries(client, "flaky", hook["webhook_id"])) == 3 and d, 10)
    assert [(d["attempt"], d["status_code"], d["outcome"]) for d in logged] == [
        (3, 200, "delivered"), (2, 500, "retrying"), (1, 500, "retrying")]
    assert {d["event_id"] for d in logged} == {got[0]["json"]["event_id"]}


def test_a_receiver_that_is_down_never_blocks_the_batch(stack):
    client = stack["client"]
    hook = subscribe(client, "down", f"http://127.0.0.1:{free_port()}/nobody", ["batch.completed"])
    final = run_batch(client, "down", 3)
    assert final["status"] == "COMPLETED"
    logged = wait_for(lambda: (d := deliveries(client, "down", hook["webhook_id"])) and d[0]["outcome"] == "failed"
                      and d, 60, message="the last attempt to fail")
    assert [d["attempt"] for d in logged] == list(range(MAX_ATTEMPTS, 0, -1))
    assert all(d["status_code"] is None and "ConnectionError" in d["error"] for d in logged)
    counts = stack["redis"].hgetall(f"{stack['settings']['REDIS_PREFIX']}metrics:webhook_deliveries")
    assert int(counts["failed"]) >= 1 and int(counts["retrying"]) >= MAX_ATTEMPTS - 1


def test_event_stream_through_gunicorn_is_ordered_and_resumes(stack, gunicorn):
    client, headers = stack["client"], {"X-Namespace": "stream"}
    body = {"collection_id": "stream", "object_ids": new_texts(client, "stream", 40, prefix="slow-40-")}
    batch = client.post("/v1/batches", json=body, headers=headers).get_json()
    url = f"{gunicorn}/v1/batches/{batch['batch_id']}/events"
    with requests.get(url, headers=headers, stream=True, timeout=(5, 60)) as response:
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        submitted = requests.post(f"{gunicorn}/v1/batches/{batch['batch_id']}/submit", headers=headers, timeout=10)
        assert submitted.status_code == 202
        messages, raw = read_stream(response)   # returns only because the server ends the stream
    assert raw.startswith("retry: ")
    events = [m for m in messages if m["event"] != "progress"]
    assert [e["event"] for e in events] == ["batch.submitted", "collection.documents.written", "batch.completed"]
    assert [e["id"] for e in events] == sorted({e["id"] for e in events})
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)
    progress = [m["data"]["progress"]["processed"] for m in messages if m["event"] == "progress"]
    assert progress == sorted(progress) and progress[-1] == 40
    assert any(0 < p < 40 for p in progress)            # live progress while the worker ran, not only the end
    assert messages[-1]["event"] == "batch.completed" and messages[-2]["data"]["status"] == "COMPLETED"

    resume = {**headers, "Last-Event-ID": str(events[0]["id"])}
    with requests.get(url, headers=resume, stream=True, timeout=(5, 30)) as again:
        resumed, _ = read_stream(again)
    assert [(m["event"], m["data"]["event_id"]) for m in resumed if m["event"] != "progress"] == [
        (e["event"], e["data"]["event_id"]) for e in events[1:]]
    with requests.get(f"{url}?last_event_id={events[-1]['id']}", headers=headers, stream=True, timeout=(5, 30)) as done:
        assert [m["event"] for m in read_stream(done)[0]] == ["progress"]
