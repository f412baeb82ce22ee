"""Property-based fuzz of the whole API from its own OpenAPI document (schemathesis, bounded in time)."""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from tests.helpers import new_batch, text_objects, upload
from tests.batches.test_batches_api import run_items

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
GENERATED_EXAMPLES = 20   # per operation and mode, with generated path parameters
SEEDED_EXAMPLES = 6       # per operation, mode and real resource


@pytest.fixture
def settings_overrides(settings_overrides):
    """Auth off (X-Namespace), rate limit off, event streams of unfinished batches cut short."""
    return {**settings_overrides, "RATE_LIMIT_PER_MINUTE": 0, "SSE_MAX_SECONDS": 1, "SSE_POLL_MS": 50}


def _seed(client) -> list[dict]:
    """Real resources in several states, so success answers get checked against their schemas too."""
    ids = text_objects(client, 2)
    bad = upload(client, {"x.zip": b"PK\x03\x04" + b"\x00" * 40}).get_json()["objects"][0]["object_id"]
    draft = new_batch(client, ids)
    finished = new_batch(client, ids + [bad])
    queued = new_batch(client, ids)
    client.post(f"/v1/batches/{finished['batch_id']}/submit")
    run_items(finished["batch_id"])
    task_id = client.post(f"/v1/batches/{queued['batch_id']}/submit").get_json()["task_id"]
    return [{"object_id": ids[0], "batch_id": draft["batch_id"], "task_id": task_id},
            {"object_id": bad, "batch_id": finished["batch_id"]},
            {"object_id": ids[1], "batch_id": queued["batch_id"]}]


def _fuzz(operation, mode, examples, path_parameters=None) -> str | None:
    """Run one operation's examples; the first failure as text, or None."""

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # nothing invalid to send (e.g. a lone string path parameter): nothing to check
        return None
    except Exception as exc:  # hypothesis re-raises the minimal failing example's error
        return f"{operation.label} [{mode.value}, {path_parameters}]: {exc}"
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_server_errors_and_every_response_matches_its_schema(app, client, dispatched, mode):
    seeds = _seed(client)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16
    failures = []
    for operation in operations:
        failures.append(_fuzz(operation, mode, GENERATED_EXAMPLES))
        names = {p.name for p in operation.path_parameters}
        for seed in seeds if names else []:
            if names <= set(seed):
                failures.append(_fuzz(operation, mode, SEEDED_EXAMPLES, {n: seed[n] for n in names}))
    failures = [f for f in failures if f]
    assert not failures, "\n\n".join(failures)
