"""Keys, limits, idempotency and the rate limiter against a real Redis, a real worker and both databases."""
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from app.settings import configure, get_settings

from tests.overrides import with_overrides
from app.db import session_scope
from app.models import Batch, Vector
from app.redis_client import get_redis, key
from app.access import keys
from app.access.rate_limit import take_token
from tests.helpers import seed_stored_objects
from tests.integration.test_pipeline import watch_until_finished


@pytest.fixture
def keyed(stack):
    """The stack's API with key authentication on; two namespaces with a key each."""
    previous = get_settings()
    with_overrides(AUTH_DISABLED=False)
    owner = {"Authorization": f"Bearer {keys.create_key('team-a')[1]}"}
    intruder = {"X-Api-Key": keys.create_key("team-b")[1]}
    yield stack["client"], owner, intruder
    configure(previous)


def test_a_keyed_batch_runs_on_the_worker_in_its_namespace_only(keyed):
    client, owner, intruder = keyed
    files = [(io.BytesIO(f"Team A document {i} about tenancy.".encode()), f"a{i}.txt") for i in range(3)]
    response = client.post("/v1/batches", headers={**owner, "Idempotency-Key": "team-a-run-1"},
                           data={"collection_id": "private", "auto_submit": "true", "file": files},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    batch = response.get_json()
    assert batch["namespace"] == "team-a" and batch["status"] == "QUEUED"
    final, _ = watch_until_finished(_as(client, owner), batch["batch_id"])
    assert final["status"] == "COMPLETED"
    for path in [f"/v1/batches/{batch['batch_id']}", f"/v1/batches/{batch['batch_id']}/results",
                 f"/v1/tasks/{batch['task_id']}"]:
        assert client.get(path, headers=intruder).status_code == 404, path
        assert client.get(path, headers=owner).status_code == 200, path
    assert client.get(f"/v1/batches/{batch['batch_id']}").status_code == 401
    with session_scope() as session:
        namespaces = set(session.scalars(select(Vector.namespace).where(Vector.batch_id == batch["batch_id"])))
    assert namespaces == {"team-a"}


def _as(client, headers):
    """The client with these headers on every GET (for helpers that poll)."""
    class Authenticated:
        def get(self, path):
            return client.get(path, headers=headers)
    return Authenticated()


def test_concurrent_duplicates_make_one_batch_on_this_database(stack):
    client = stack["client"]

    def send(_):
        return stack["app"].test_client().post(
            "/v1/batches", json={"collection_id": "race", "metadata": {"n": 1}},
            headers={"Idempotency-Key": f"race-{stack['data_dir'].name}", "X-Namespace": "racers"})

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(send, range(6)))
    assert {r.status_code for r in answers} == {201}
    assert len({r.get_json()["batch_id"] for r in answers}) == 1
    listed = client.get("/v1/batches", headers={"X-Namespace": "racers"}).get_json()["batches"]
    assert len(listed) == 1


def test_a_batch_of_exactly_the_default_limit_fits_and_one_more_does_not(stack):
    client = stack["client"]
    headers = {"X-Namespace": "bulk"}
    ids = seed_stored_objects("bulk", 10_001)
    created = client.post("/v1/batches", json={"collection_id": "bulk", "object_ids": ids[:10_000]}, headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)[:500]
    assert created.get_json()["progress"]["total"] == 10_000
    refused = client.post("/v1/batches", json={"collection_id": "bulk", "object_ids": ids}, headers=headers)
    assert refused.status_code == 413 and refused.get_json()["error"]["type"] == "batch_too_large"
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Batch).where(Batch.namespace == "bulk")) == 1


def test_token_bucket_is_atomic_on_a_real_redis(stack):
    previous = get_settings()
    with_overrides(RATE_LIMIT_PER_MINUTE=1, RATE_LIMIT_BURST=20)
    try:
        identity = f"atomic-{stack['data_dir'].name}"
        barrier = threading.Barrier(8)

        def spend(_):
            barrier.wait()
            return [take_token(identity).allowed for _ in range(10)]

        with ThreadPoolExecutor(max_workers=8) as pool:
            decisions = [d for batch in pool.map(spend, range(8)) for d in batch]
        assert decisions.count(True) == 20 and len(decisions) == 80
        assert 0 < get_redis().pttl(key("ratelimit", identity)) <= 20 * 60 * 1000 + 1000
    finally:
        configure(previous)
