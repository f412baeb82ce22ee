"""The process's Redis client for fast, expiring state, and the key prefix that keeps tenants of a Redis apart."""
import redis

from app.settings import get_settings

_client = None


def get_redis() -> redis.Redis:
    """The shared client (created lazily; fork-safe because redis-py reconnects per process)."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            get_settings().REDIS_URL, decode_responses=True, socket_timeout=5, socket_connect_timeout=5,
            health_check_interval=30,
        )
    return _client


def use_redis(client) -> None:
    """Install a specific client (fakeredis in unit tests); None to go back to the configured one."""
    global _client
    _client = client


def key(*parts) -> str:
    """A namespaced key such as `batchery:task:tsk_…`."""
    return get_settings().REDIS_PREFIX + ":".join(str(p) for p in parts)
