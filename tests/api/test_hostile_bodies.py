"""Hostile JSON on every endpoint that reads JSON: deep nesting, lone surrogates, out-of-range values — a 400/422
in the error shape, never a 500 (issue 12, items 7-8)."""
import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import assert_error, new_batch, text_objects


@pytest.fixture
def settings_overrides(settings_overrides):
    """Rate limit off: the generated requests come fast."""
    return {**settings_overrides, "RATE_LIMIT_PER_MINUTE": 0}


@pytest.fixture
def seeded(client, dispatched):
    """Real resources for the path parameters: a DRAFT batch, a schedule, a collection."""
    batch = new_batch(client, text_objects(client, 1))
    schedule = client.post("/v1/schedules", json={"name": "n", "cron": "0 3 * * *", "bucket": "default",
                                                  "collection_id": "docs"}).get_json()
    return {"batch_id": batch["batch_id"], "schedule_id": schedule["schedule_id"], "collection_id": "docs"}


def json_operations(client, seeded) -> list[tuple[str, str, dict]]:
    """(method, path, request body schema) of every operation whose OpenAPI says it takes JSON."""
    spec = client.get("/openapi.json").get_json()
    operations = []
    for template, item in spec["paths"].items():
        path = template
        for name, value in seeded.items():
            path = path.replace("{" + name + "}", value)
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            if "application/json" in content:
                schema = content["application/json"]["schema"]
                if "$ref" in schema:
                    schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
                operations.append((method.upper(), path, schema.get("properties", {})))
    assert "{" not in "".join(path for _, path, _ in operations), "a path parameter without a seeded value"
    return operations


def send(client, method, path, raw: str):
    """Send a raw JSON text."""
    return client.open(path, method=method, data=raw.encode("utf-8", "surrogatepass"),
                       content_type="application/json")


def test_every_json_endpoint_answers_deep_nesting_with_a_400(client, seeded):
    operations = json_operations(client, seeded)
    assert len(operations) >= 9
    for method, path, _ in operations:
        for raw in ("[" * 100_000, "{\"a\":" * 100_000, "[" * 100_000 + "]" * 100_000,
                    json.dumps({"metadata": json.loads("[" * 200 + "]" * 200)})):
            error = assert_error(send(client, method, path, raw), 400, "validation_error")
            assert "nest" in error["message"] or "JSON" in error["message"], (method, path, error)


def test_every_json_endpoint_answers_a_lone_surrogate_with_a_400(client, seeded):
    for method, path, properties in json_operations(client, seeded):
        for field in list(properties) or ["anything"]:
            raw = json.dumps({field: "a\ud800b"})  # json.dumps writes the surrogate as the escape \ud800
            assert "\\ud800" in raw
            error = assert_error(send(client, method, path, raw), 400, "validation_error")
            assert "surrogate" in error["message"], (method, path, field)
        # A surrogate in a key, too; a valid pair is text and is not refused for it.
        assert_error(send(client, method, path, '{"\\udfff": 1}'), 400, "validation_error")
        assert send(client, method, path, '{"x": "\\ud83d\\ude00"}').status_code != 400 or "surrogate" not in \
            send(client, method, path, '{"x": "\\ud83d\\ude00"}').get_json()["error"]["message"]


def test_surrogates_smuggled_as_bytes_are_refused_too(client):
    """json.loads alone decodes UTF-8 surrogate bytes and UTF-16 bodies with 'surrogatepass'."""
    for raw in ('{"collection_id": "c", "batch_name": "a\ud800"}'.encode("utf-8", "surrogatepass"),
                '{"collection_id": "c", "batch_name": "a\ud800"}'.encode("utf-16-le", "surrogatepass")):
        response = client.post("/v1/batches", data=raw, content_type="application/json")
        assert_error(response, 400, "validation_error")
    bom = b"\xef\xbb\xbf" + json.dumps({"collection_id": "c"}).encode()
    assert client.post("/v1/batches", data=bom, content_type="application/json").status_code == 201


def test_surrogates_in_names_secrets_and_metadata_write_nothing(client, seeded):
    before = client.get("/v1/batches").get_json()["batches"]
    for body in ({"collection_id": "c", "batch_name": "\ud800"},
                 {"collection_id": "c", "webhook_url": "https://hooks.example.com/x", "webhook_secret": "\udc00" * 9},
                 {"collection_id": "c", "metadata": {"k": "\ud800"}}, {"collection_id": "c", "metadata": {"\ud800": 1}}):
        assert_error(send(client, "POST", "/v1/batches", json.dumps(body)), 400, "validation_error")
    assert client.get("/v1/batches").get_json()["batches"] == before
    assert_error(send(client, "POST", "/v1/objects", json.dumps({"text": "x\ud800y"})), 400, "validation_error")
    # In a multipart form field that carries JSON, too.
    response = client.post("/v1/objects", data={"metadata": json.dumps({"k": "\ud800"}), "file": [(b"x", "a.txt")]},
                           content_type="multipart/form-data")
    assert_error(response, 422, "validation_error")


def _cursor(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode("utf-8", "surrogatepass")).decode().rstrip("=")


def test_cursors_with_surrogates_or_deep_nesting_are_a_422(client, seeded):
    paths = ["/v1/objects", "/v1/batches", "/v1/collections", "/v1/schedules",
             f"/v1/batches/{seeded['batch_id']}/results", f"/v1/schedules/{seeded['schedule_id']}/runs"]
    for path in paths:
        for payload in ('{"k": "\\ud800"}', '{"k": "\ud800"}', '{"k": ' + "[" * 100 + "]" * 100 + "}", "[" * 300):
            assert_error(client.get(f"{path}?cursor={_cursor(payload)}"), 422, "validation_error")


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "10000-01-01T00:00:00Z",
                                    "2026-13-01T00:00:00Z", "2026-01-01T00:00:00+25:00"])
def test_submit_at_out_of_range_is_a_422(client, moment):
    error = assert_error(client.post("/v1/batches", json={"collection_id": "c", "submit_at": moment}), 422,
                         "validation_error")
    assert "submit_at" in error["details"]["fields"]


def test_submit_at_at_the_edge_of_the_range_is_accepted_as_utc(client):
    response = client.post("/v1/batches", json={"collection_id": "c", "submit_at": "9999-12-31T09:59:59-14:00"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["submit_at"].startswith("9999-12-31T23:59:59")


# Values a careless or hostile client sends in place of any field, as raw JSON text (nesting too deep
# for Python's json module to build or write is generated as text).
_surrogate_text = st.builds(lambda a, s, b: a + s + b, st.text(max_size=5),
                            st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"]), st.text(max_size=5))
_hostile_json = st.one_of(
    _surrogate_text.map(json.dumps),
    st.integers(min_value=65, max_value=100_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(min_value=65, max_value=5_000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    st.sampled_from(['"9999-12-31T23:59:59-14:00"', '"0001-01-01T00:00:00+14:00"', "1e309", "-1e309", "NaN",
                     "Infinity", "1" * 5000, '"' + "x" * 100_000 + '"']),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.dictionaries(_surrogate_text, st.integers(), min_size=1, max_size=2).map(json.dumps),
    st.lists(_surrogate_text, min_size=1, max_size=3).map(json.dumps),
    st.sampled_from(["null", "true", "[]", "{}", '""']),
)


def _never_a_server_error(response, method, path, body):
    assert response.status_code < 500, (method, path, body, response.get_data(as_text=True)[:500])
    if response.status_code >= 400:
        assert set(response.get_json()) == {"error"}
        assert {"type", "message", "details"} <= set(response.get_json()["error"])


def test_hostile_values_in_every_field_of_every_json_endpoint_never_answer_500(client, seeded):
    operations = json_operations(client, seeded)

    @given(data=st.data())
    @settings(max_examples=80, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(data):
        method, path, properties = data.draw(st.sampled_from(operations))
        fields = sorted(properties) or ["anything"]
        body = {field: data.draw(_hostile_json) for field in data.draw(st.sets(st.sampled_from(fields), min_size=1))}
        if "collection_id" in properties and "collection_id" not in body:
            body["collection_id"] = '"docs"'
        raw = "{" + ",".join(f"{json.dumps(field)}:{value}" for field, value in body.items()) + "}"
        _never_a_server_error(send(client, method, path, raw), method, path, raw[:300])

    run()
