"""Per-key token bucket in Redis: one atomic Lua script per request, shared by every web process."""
import logging
import math
import time
from dataclasses import dataclass

from redis.exceptions import RedisError

from app.settings import get_settings
from app.redis_client import get_redis, key

log = logging.getLogger(__name__)

# Refill by elapsed time, then take one token if there is one; state is {tokens, ts} and expires once full again.
_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(wait), tostring(tokens)}
"""


@dataclass(frozen=True)
class Decision:
    """Whether a request may proceed, and how long to wait when it may not."""

    allowed: bool
    retry_after: int
    remaining: int


def take_token(identity: str, now: float | None = None) -> Decision:
    """Spend one token of `identity`'s bucket; Redis trouble lets the request through (logged)."""
    settings = get_settings()
    per_minute, burst = settings.RATE_LIMIT_PER_MINUTE, max(settings.RATE_LIMIT_BURST, 1)
    if per_minute <= 0:
        return Decision(True, 0, burst)
    try:
        bucket = get_redis().register_script(_TOKEN_BUCKET)  # EVALSHA; the script is sent only once per server
        allowed, wait, tokens = bucket(keys=[key("ratelimit", identity)],
                                       args=[per_minute / 60.0, burst, time.time() if now is None else now])
    except RedisError as exc:  # the limiter protects the service; it must not take it down with Redis
        log.warning("rate limiter unavailable, letting the request through: %s", exc)
        return Decision(True, 0, burst)
    return Decision(bool(int(allowed)), max(1, math.ceil(float(wait))) if not int(allowed) else 0,
                    int(float(tokens)))
