"""Per-key rate limiting over HTTP: 429 `rate_limited` with Retry-After; probes and documents are never limited."""
import pytest

from tests.helpers import assert_error


@pytest.fixture
def settings_overrides(settings_overrides):
    """Three requests at once, then one a minute (slow enough that a loaded machine cannot refill it mid-test)."""
    return {**settings_overrides, "RATE_LIMIT_PER_MINUTE": 1, "RATE_LIMIT_BURST": 3}


def test_a_key_over_its_rate_gets_429_with_retry_after(keyed_client, key_headers):
    mine, other_key_same_namespace = key_headers("team-a"), key_headers("team-a")
    assert [keyed_client.get("/v1/batches", headers=mine).status_code for _ in range(3)] == [200] * 3
    refused = keyed_client.get("/v1/objects", headers=mine)
    error = assert_error(refused, 429, "rate_limited")
    assert 50 <= int(refused.headers["Retry-After"]) <= 60
    assert error["details"] == {"limit_per_minute": 1, "burst": 3,
                                "retry_after_seconds": int(refused.headers["Retry-After"])}
    assert keyed_client.get("/v1/batches", headers=other_key_same_namespace).status_code == 200  # per key
    for path in ["/healthz", "/readyz", "/openapi.json", "/docs"]:
        assert keyed_client.get(path).status_code == 200, path


def test_without_auth_the_namespace_is_limited(client):
    assert [client.get("/v1/batches").status_code for _ in range(3)] == [200] * 3
    assert_error(client.get("/v1/batches"), 429, "rate_limited")
    assert client.get("/v1/batches", headers={"X-Namespace": "other"}).status_code == 200

