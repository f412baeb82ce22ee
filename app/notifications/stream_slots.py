"""Open event streams per key, counted in Redis so every web process enforces one cap (SSE_MAX_STREAMS_PER_KEY).

Each open stream holds a slot with a lease it renews while it runs; a web process that dies without
closing its streams frees their slots when the leases lapse.
"""
import logging
import secrets
import time

from redis.exceptions import RedisError

from app.settings import get_settings
from app.errors import RateLimited
from app.redis_client import get_redis, key

log = logging.getLogger(__name__)
LEASE_SECONDS = 60          # > SSE heartbeat: a live stream yields, and so renews, more often than this
_RETRY_AFTER_SECONDS = 5

# Drop lapsed slots, then take one if the key is under its cap; the sorted set scores are lease ends.
_TAKE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3]) * 1000))
return 1
"""


class StreamSlot:
    """One open stream's place under its key's cap."""

    def __init__(self, identity: str, clock=time.time):
        self.key, self.member, self.clock = key("streams", identity), secrets.token_hex(8), clock
        self.renewed_at = 0.0

    def take(self, cap: int) -> bool:
        """True when the key had room (or Redis is unreachable: the cap must not take streams down with Redis)."""
        try:
            taken = get_redis().register_script(_TAKE)(keys=[self.key],
                                                       args=[self.clock(), cap, LEASE_SECONDS, self.member])
        except RedisError as exc:
            log.warning("stream cap unavailable, letting the stream open: %s", exc)
            return True
        self.renewed_at = self.clock()
        return bool(int(taken))

    def renew_if_due(self) -> None:
        """Extend the lease once a third of it has passed."""
        now = self.clock()
        if now - self.renewed_at < LEASE_SECONDS / 3:
            return
        try:
            pipe = get_redis().pipeline()
            pipe.zadd(self.key, {self.member: now + LEASE_SECONDS}, xx=True)
            pipe.pexpire(self.key, LEASE_SECONDS * 1000)
            pipe.execute()
            self.renewed_at = now
        except RedisError as exc:
            log.warning("could not renew an event stream's slot: %s", exc)

    def release(self) -> None:
        """Give the slot back (the stream ended or the client left)."""
        try:
            get_redis().zrem(self.key, self.member)
        except RedisError as exc:
            log.warning("could not release an event stream's slot (its lease will lapse): %s", exc)


def open_slot(identity: str) -> StreamSlot:
    """A slot for one more stream of `identity`, or 429 rate_limited when it already has its cap open."""
    cap = get_settings().SSE_MAX_STREAMS_PER_KEY
    slot = StreamSlot(identity)
    if cap > 0 and not slot.take(cap):
        raise RateLimited(
            f"This key already has {cap} event streams open (SSE_MAX_STREAMS_PER_KEY); close one and retry.",
            {"setting": "SSE_MAX_STREAMS_PER_KEY", "limit": cap, "retry_after_seconds": _RETRY_AFTER_SECONDS},
            headers={"Retry-After": str(_RETRY_AFTER_SECONDS)})
    return slot


class HeldStream:
    """A stream that renews its slot as it runs and releases it when closed, even if it never started."""

    def __init__(self, slot: StreamSlot, stream):
        self.slot, self.stream = slot, stream

    def __iter__(self):
        for chunk in self.stream:
            self.slot.renew_if_due()
            yield chunk
        self.slot.release()

    def close(self) -> None:
        """Called by the WSGI server when the response ends or the client leaves."""
        try:
            self.stream.close()
        finally:
            self.slot.release()
