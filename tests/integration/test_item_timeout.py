"""A real worker with a 1 s per-item soft time limit: a slow file ends `timeout`, its batch still completes."""
import io
import time
from dataclasses import replace

import pytest

from app.extractors import extract
from app.extractors.base import Budget
from tests.fixture_files import make_pdf
from tests.integration.test_pipeline import all_results, watch_until_finished

SLOW_PAGES = 3000
# A fast machine needs more pages than MAX_ITEM_CHUNKS allows (one chunk a page) to go over the time limit:
# the worker and the measurement here lift that budget, so the file fails by time, never by size.
MANY_CHUNKS = 1_000_000


@pytest.fixture(scope="module")
def worker_env():
    """The stack's worker runs with a one-second soft limit per item."""
    return {"ITEM_SOFT_TIME_LIMIT_SECONDS": "1", "MAX_ITEM_CHUNKS": str(MANY_CHUNKS)}


@pytest.fixture(scope="module")
def slow_pdf():
    """A PDF that pypdf needs well over the 1 s limit for on this machine: pages double until it takes > 3 s."""
    pages = SLOW_PAGES
    while True:
        data = make_pdf([f"Page {i} of a long report about rivers, mountains and weather." for i in range(pages)])
        started = time.perf_counter()
        extract(data, budget=replace(Budget.from_settings(), max_chunks=MANY_CHUNKS))  # the worker's work
        if time.perf_counter() - started > 3.0 or pages >= 16 * SLOW_PAGES:
            break
        pages *= 2
    assert time.perf_counter() - started > 2.0, "the slow file must take well over the 1 s limit"
    return data


def test_a_file_over_the_soft_time_limit_fails_as_timeout(stack, slow_pdf):
    client = stack["client"]
    files = [(io.BytesIO(slow_pdf), "slow.pdf"), (io.BytesIO(b"A short note that embeds at once."), "quick.txt")]
    objects = client.post("/v1/objects", data={"file": files}, content_type="multipart/form-data").get_json()["objects"]
    ids = {o["filename"]: o["object_id"] for o in objects}
    batch = client.post("/v1/batches", json={"collection_id": "slow", "object_ids": list(ids.values()),
                                             "auto_submit": True}).get_json()
    final, _ = watch_until_finished(client, batch["batch_id"], timeout=300)  # generous: 2 cores may be busy
    assert final["status"] == "COMPLETED_WITH_ERRORS"
    _, results = all_results(client, batch["batch_id"])
    by_name = {r["filename"]: r for r in results}
    slow = by_name["slow.pdf"]
    assert (slow["status"], slow["error"]["type"], slow["attempts"]) == ("FAILED", "timeout", 1)
    assert "time limit" in slow["error"]["message"]
    assert by_name["quick.txt"]["status"] == "SUCCEEDED"
    errors = client.get(f"/v1/batches/{batch['batch_id']}/errors").get_json()
    assert [e["object_id"] for e in errors["by_type"]["timeout"]] == [ids["slow.pdf"]]
