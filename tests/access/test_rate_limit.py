"""The token bucket itself (Lua in fakeredis here; the same script runs on a real Redis in the integration suite)."""
import pytest
import redis

from app.settings import configure, get_settings

from tests.overrides import with_overrides
from app.redis_client import use_redis
from app.access.rate_limit import take_token


@pytest.fixture
def limits(fake_redis, tmp_path):
    """60 a minute (one a second), bursts of 3; the previous settings come back afterwards."""
    previous = get_settings()
    with_overrides(RATE_LIMIT_PER_MINUTE=60, RATE_LIMIT_BURST=3, REDIS_PREFIX="unit:")
    yield fake_redis
    configure(previous)


def test_burst_then_refill_at_the_configured_rate(limits):
    now = 1_000_000.0
    assert [take_token("k", now).allowed for _ in range(4)] == [True, True, True, False]
    refused = take_token("k", now + 0.5)
    assert not refused.allowed and refused.retry_after == 1
    assert take_token("k", now + 1.0).allowed          # one token back after a second
    assert not take_token("k", now + 1.0).allowed
    assert [take_token("k", now + 100).allowed for _ in range(4)] == [True, True, True, False]  # never above burst


def test_buckets_are_per_identity_and_expire(limits):
    now = 2_000_000.0
    for _ in range(3):
        take_token("a", now)
    assert not take_token("a", now).allowed
    assert take_token("b", now).allowed
    ttl = limits.pttl("unit:ratelimit:a")
    assert 0 < ttl <= 4000  # gone once it would be full again: idle keys cost no memory


def test_retry_after_grows_with_a_slow_rate(limits):
    with_overrides(RATE_LIMIT_PER_MINUTE=2, RATE_LIMIT_BURST=1)
    now = 3_000_000.0
    assert take_token("slow", now).allowed
    assert take_token("slow", now).retry_after == 30


def test_zero_turns_it_off_and_redis_trouble_lets_requests_through(limits):
    with_overrides(RATE_LIMIT_PER_MINUTE=0)
    assert all(take_token("k").allowed for _ in range(10))
    with_overrides(RATE_LIMIT_PER_MINUTE=60)
    use_redis(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    assert take_token("k").allowed
