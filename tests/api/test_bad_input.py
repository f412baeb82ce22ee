"""Malformed requests the fuzz found or the contract names: always a clear 4xx in the error shape, never a 500."""
import base64
import json

import pytest

from tests.helpers import assert_error, new_batch, text_objects


def test_unknown_query_parameters_are_named(client):
    error = assert_error(client.get("/v1/objects?colour=red&limit=5"), 422, "validation_error")
    assert "colour" in str(error["details"]["fields"])
    assert_error(client.get("/v1/batches?sort=asc"), 422, "validation_error")
    assert client.get("/v1/batches?limit=5").status_code == 200


def test_a_part_whose_name_werkzeug_cannot_read_is_a_422_not_a_500(client):
    boundary = "XyZ"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="ok"\r\n\r\n1\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="bad\rname"\r\n\r\n2\r\n--{boundary}--\r\n')
    response = client.post("/v1/objects", data=body.encode(), content_type=f"multipart/form-data; boundary={boundary}")
    error = assert_error(response, 422, "validation_error")
    assert set(error["details"]["fields"]) == {"ok", ""}  # the unreadable name is reported as ""


def test_list_index_errors_keep_string_keys(client):
    error = assert_error(client.post("/v1/batches", json={"collection_id": "c", "object_ids": ["ok", 5, ""]}),
                         422, "validation_error")
    assert set(error["details"]["fields"]["object_ids"]) == {"1", "2"}


def test_field_errors_are_keyed_by_field_whichever_layer_read_the_body(client):
    # Query strings and bodies read by flask-smorest used to nest the fields under "query"/"json".
    listing = assert_error(client.get("/v1/batches?limit=0"), 422, "validation_error")
    assert set(listing["details"]["fields"]) == {"limit"}
    search = assert_error(client.post("/v1/collections/c/search", json={"query": "x", "top_k": 0}),
                          422, "validation_error")
    assert set(search["details"]["fields"]) == {"top_k"}
    state = assert_error(client.put("/v1/batches/bat_x/state", json={"state": "DONE"}), 422, "validation_error")
    assert set(state["details"]["fields"]) == {"state"}


def _cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_forged_cursors_never_reach_the_database_with_a_wrong_type(client, dispatched):
    batch = new_batch(client, text_objects(client, 1))
    schedule = client.post("/v1/schedules", json={"name": "n", "cron": "0 3 * * *", "bucket": "default",
                                                  "collection_id": "docs"}).get_json()
    string_keyed = ["/v1/objects", "/v1/batches", "/v1/collections", "/v1/schedules"]
    int_keyed = [f"/v1/batches/{batch['batch_id']}/results", f"/v1/schedules/{schedule['schedule_id']}/runs"]
    for path in string_keyed + int_keyed:
        for payload in [{"k": 10**30}, {"k": [1]}, {"k": {"a": 1}}, {"k": 1.5}]:
            assert_error(client.get(f"{path}?cursor={_cursor(payload)}"), 422, "validation_error")
    for path in string_keyed:
        assert_error(client.get(f"{path}?cursor={_cursor({'k': 7})}"), 422, "validation_error")
    for path in int_keyed:
        assert_error(client.get(f"{path}?cursor={_cursor({'k': 'abc'})}"), 422, "validation_error")
        assert_error(client.get(f"{path}?cursor={_cursor({'k': -1})}"), 422, "validation_error")


def test_unknown_query_parameters_are_refused_by_our_parser_not_a_patched_shared_one(client):
    import flask_smorest
    from marshmallow import EXCLUDE

    assert flask_smorest.Blueprint.ARGUMENTS_PARSER.DEFAULT_UNKNOWN_BY_LOCATION["query"] == EXCLUDE
    response = client.get("/v1/batches?colour=blue")
    assert response.status_code == 422 and "colour" in response.get_json()["error"]["details"]["fields"]
