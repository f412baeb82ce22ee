"""API keys over HTTP: both headers, 401s in the contract's shape, the AUTH_DISABLED warning."""
import logging

from app.access import keys
from tests.helpers import assert_error


def test_bearer_and_x_api_key_both_authenticate(keyed_client, key_headers):
    for style in ("bearer", "header"):
        headers = key_headers("team-a", style)
        response = keyed_client.post("/v1/objects", json={"text": "hello"}, headers=headers)
        assert response.status_code == 201, response.get_json()
        object_id = response.get_json()["objects"][0]["object_id"]
        assert keyed_client.get(f"/v1/objects/{object_id}", headers=headers).status_code == 200


def test_missing_malformed_unknown_and_revoked_keys_are_401(keyed_client, key_headers):
    error = assert_error(keyed_client.get("/v1/objects"), 401, "unauthorized")
    assert "Authorization: Bearer" in error["message"]
    assert keyed_client.get("/v1/objects").headers["WWW-Authenticate"].startswith("Bearer")
    for headers in [{"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwdw=="},
                    {"Authorization": "Bearer nonsense"}, {"X-Api-Key": "bk_00000000_" + "a" * 43},
                    {"X-Namespace": "team-a"}]:
        assert_error(keyed_client.get("/v1/batches", headers=headers), 401, "unauthorized")
    headers = key_headers("team-a")
    assert keyed_client.get("/v1/batches", headers=headers).status_code == 200
    keys.revoke_key(headers["Authorization"].split()[1][:11])
    assert_error(keyed_client.get("/v1/batches", headers=headers), 401, "unauthorized")


def test_key_decides_the_namespace_not_x_namespace(keyed_client, key_headers):
    headers = {**key_headers("team-a"), "X-Namespace": "team-b"}
    body = keyed_client.post("/v1/batches", json={"collection_id": "docs"}, headers=headers).get_json()
    assert body["namespace"] == "team-a"


def test_probes_and_documents_need_no_key(keyed_client):
    for path in ["/healthz", "/readyz", "/openapi.json", "/docs"]:
        assert keyed_client.get(path).status_code == 200, path
    spec = keyed_client.get("/openapi.json").get_json()
    assert {"bearerKey", "headerKey"} <= set(spec["components"]["securitySchemes"])


def test_auth_disabled_says_so_loudly_at_start_up(settings_overrides, fake_redis, caplog):
    from app import create_app, db

    with caplog.at_level(logging.WARNING):
        create_app(settings_overrides)
    db.dispose_engine()
    assert "AUTH IS DISABLED" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        create_app({**settings_overrides, "AUTH_DISABLED": False})
    db.dispose_engine()
    assert "AUTH IS DISABLED" not in caplog.text


def test_bad_x_namespace_with_auth_disabled_is_a_validation_error(client):
    error = assert_error(client.get("/v1/objects", headers={"X-Namespace": "../etc"}), 422, "validation_error")
    assert "X-Namespace" in error["details"]["fields"]
