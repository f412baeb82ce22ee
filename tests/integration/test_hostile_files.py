"""Hostile files through a real worker and a real web process: per-item budgets end as typed item errors, worker
children above the memory ceiling are replaced, chunked bodies over the limit are refused (issue 12, items 3-5, 11)."""
import io
import json
import socket

import pytest

from app.queue import celery_app
from tests.integration.stack import WebProcess, wait_for
from tests.integration.test_pipeline import all_results, watch_until_finished

MAX_ITEM_CHUNKS = 40


@pytest.fixture(scope="module")
def extra_settings():
    """A small chunk budget and request body limit, so the files and bodies that break them stay small."""
    return {"MAX_ITEM_CHUNKS": str(MAX_ITEM_CHUNKS), "MAX_CONTENT_LENGTH": str(256 * 1024)}


@pytest.fixture(scope="module")
def worker_env():
    """A 1 KiB memory ceiling: every child is over it after its first task and must be replaced."""
    return {"WORKER_MAX_MEMORY_PER_CHILD_KB": "1"}


def pool_pids(stack) -> set[int]:
    """The worker's current pool children."""
    name = stack["worker"].name
    stats = celery_app.control.inspect([name], timeout=2).stats() or {}
    return set(stats.get(name, {}).get("pool", {}).get("processes", []))


def test_budgets_end_as_format_errors_and_the_reported_json_stays_small(stack):
    client = stack["client"]
    files = {
        "key.json": json.dumps({"k" * 100_000: [0] * 2000}).encode(),           # the report's 224,000 chunks
        "long.txt": "\n\n".join(f"Paragraph {i}. " + "word " * 150 for i in range(MAX_ITEM_CHUNKS + 5)).encode(),
        "fine.txt": b"A short note about rivers and deltas.",
    }
    response = client.post("/v1/batches", data={"collection_id": "hostile", "auto_submit": "true", "file": [
        (io.BytesIO(content), name) for name, content in files.items()]}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    batch, _ = watch_until_finished(client, response.get_json()["batch_id"])
    assert batch["status"] == "COMPLETED_WITH_ERRORS"
    _, results = all_results(client, batch["batch_id"])
    by_name = {r["filename"]: r for r in results}
    assert by_name["key.json"]["status"] == "SUCCEEDED" and 1 <= by_name["key.json"]["chunks"] <= 20
    assert by_name["fine.txt"]["status"] == "SUCCEEDED"
    failed = by_name["long.txt"]
    assert failed["status"] == "FAILED" and failed["error"]["type"] == "format_error"
    assert "MAX_ITEM_CHUNKS" in failed["error"]["message"] and failed["chunks"] in (0, None)
    assert failed["attempts"] == 1  # over a budget is final: not retried


def test_worker_children_above_the_memory_ceiling_are_replaced(stack):
    client = stack["client"]
    before = wait_for(lambda: pool_pids(stack), 30, interval=0.5, message="the pool's pids")
    files = [(io.BytesIO(f"note {i} about glaciers".encode()), f"n{i}.txt") for i in range(4)]
    response = client.post("/v1/batches", data={"collection_id": "recycled", "auto_submit": "true", "file": files},
                           content_type="multipart/form-data")
    batch, _ = watch_until_finished(client, response.get_json()["batch_id"])
    assert batch["status"] == "COMPLETED"
    after = wait_for(lambda: (pids := pool_pids(stack)) and pids != before and pids, 60, interval=0.5,
                     message="replaced pool children")
    assert after - before  # children that ran a task were replaced by new processes
    conf = stack["worker"].control(celery_app, "conf")
    assert conf["worker_max_memory_per_child"] == 1  # the setting reached the worker through celeryconfig


@pytest.fixture(scope="module")
def gunicorn(stack):
    """The real web process, sharing the stack's database and Redis; yields its port."""
    web = WebProcess(stack["env"], stack["data_dir"] / "gunicorn-hostile.log").wait_ready()
    yield web.port
    web.stop()


def post_chunked(port: int, body: bytes, content_type: str) -> tuple[int, dict]:
    """POST /v1/objects with Transfer-Encoding: chunked (no Content-Length), 16 KiB a chunk; (status, JSON)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall((f"POST /v1/objects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode())
        try:
            for start in range(0, len(body), 16384):
                piece = body[start:start + 16384]
                conn.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the server may answer and close before reading it all
            pass
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


def test_chunked_bodies_over_max_content_length_are_refused_naming_it(stack, gunicorn):
    limit = 256 * 1024
    small = json.dumps({"text": "a chunked note", "filename": "c.txt"}).encode()
    status, body = post_chunked(gunicorn, small, "application/json")
    assert status == 201, body
    status, body = post_chunked(gunicorn, json.dumps({"text": "x" * (limit + 10)}).encode(), "application/json")
    assert status == 413 and body["error"]["type"] == "payload_too_large", body
    assert body["error"]["details"]["setting"] == "MAX_CONTENT_LENGTH" and "MAX_CONTENT_LENGTH" in \
        body["error"]["message"]
    boundary = "hostileB0undary"
    multipart = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'.encode()
                 + b"y" * (limit + 10) + f"\r\n--{boundary}--\r\n".encode())
    status, body = post_chunked(gunicorn, multipart, f"multipart/form-data; boundary={boundary}")
    assert status == 413 and body["error"]["details"]["setting"] == "MAX_CONTENT_LENGTH", body
    names = {o["filename"] for o in stack["client"].get("/v1/objects?limit=500").get_json()["objects"]}
    assert "c.txt" in names and "big.txt" not in names
