"""Operational counters shared by every process: kept in Redis so the web process can report the workers' work."""
import logging
import math

import redis
from redis.exceptions import RedisError
from sqlalchemy import func, select

from app.db import session_scope
from app.models import Batch, BatchStatus
from app.redis_client import get_redis, key
from app.settings import names_carry_prefix

log = logging.getLogger(__name__)

# Upper bounds (seconds) of the item-duration histogram; +Inf is implied.
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_INF = "+Inf"


def _bucket_for(seconds: float) -> str:
    """The histogram bucket (as its upper bound's text) that a duration falls in."""
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            return repr(bound)
    return _INF


def record_item_outcome(pipe, status: str, count: int = 1) -> None:
    """Queue on `pipe` the count of items that reached a final status."""
    pipe.hincrby(key("metrics", "items"), status.lower(), count)


def count_item_outcomes(status: str, count: int) -> None:
    """Count items finished outside a single transition (bulk cancellation)."""
    if count:
        pipe = get_redis().pipeline()
        record_item_outcome(pipe, status, count)
        pipe.execute()


def queue_item_durations(pipe, durations) -> None:
    """Queue on `pipe` the items' processing times (seconds) for the histogram."""
    if not durations:
        return
    name = key("metrics", "item_duration")
    buckets = {}
    for seconds in durations:
        buckets[_bucket_for(seconds)] = buckets.get(_bucket_for(seconds), 0) + 1
    for bound, count in buckets.items():
        pipe.hincrby(name, bound, count)
    pipe.hincrby(name, "count", len(durations))
    pipe.hincrbyfloat(name, "sum", sum(durations))


def observe_item_duration(seconds: float) -> None:
    """Add one item's processing time to the histogram; a Redis hiccup loses the sample, never the item."""
    try:
        pipe = get_redis().pipeline()
        queue_item_durations(pipe, [seconds])
        pipe.execute()
    except RedisError as exc:
        log.warning("could not record an item duration: %s", exc)


def item_outcomes() -> dict[str, int]:
    """Items that reached each final status, since the counters began."""
    return {k: int(v) for k, v in get_redis().hgetall(key("metrics", "items")).items()}


def item_durations() -> tuple[list[tuple[str, int]], float]:
    """Cumulative (upper bound, count) pairs ending with +Inf, and the sum of all durations."""
    raw = get_redis().hgetall(key("metrics", "item_duration"))
    buckets, running = [], 0
    for bound in [repr(b) for b in DURATION_BUCKETS] + [_INF]:
        running += int(raw.get(bound, 0))
        buckets.append((bound, running))
    return buckets, float(raw.get("sum", 0.0))


def webhook_deliveries() -> dict[str, int]:
    """Webhook delivery attempts by outcome (the webhook sender increments this hash)."""
    return {k: int(v) for k, v in get_redis().hgetall(key("metrics", "webhook_deliveries")).items()}


def batches_by_status() -> dict[str, int]:
    """How many batches are in each status (every status listed, zeros included)."""
    with session_scope() as session:
        rows = session.execute(select(Batch.status, func.count()).group_by(Batch.status)).all()
    counts = dict.fromkeys((s.value for s in BatchStatus), 0)
    counts.update({status: n for status, n in rows})
    return counts


_brokers: dict[str, redis.Redis] = {}


def queue_depth(broker_url: str | None, queue: str) -> float:
    """Messages waiting in a Celery queue (`queue`: its Redis key, or its RabbitMQ name); NaN when unknowable."""
    if names_carry_prefix(broker_url):
        return _amqp_queue_depth(broker_url, queue)
    if not (broker_url or "").startswith(("redis://", "rediss://", "unix://")):
        return math.nan
    client = _brokers.get(broker_url)
    if client is None:
        client = _brokers[broker_url] = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
    # kombu keeps priority levels of one queue in sibling lists named queue + "\x06\x16" + level.
    names = [queue] + [f"{queue}\x06\x16{level}" for level in (3, 6, 9)]
    try:
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.llen(name)
        return float(sum(pipe.execute()))
    except RedisError as exc:
        log.warning("could not read the depth of queue %s: %s", queue, exc)
        return math.nan


def _amqp_queue_depth(broker_url: str, queue: str) -> float:
    """Messages ready in a RabbitMQ queue (delivered, unacknowledged ones not counted: as on Redis); 0 if undeclared."""
    from amqp.exceptions import AMQPError, NotFound
    from kombu import Connection
    from kombu.exceptions import OperationalError

    try:
        with Connection(broker_url, connect_timeout=2) as connection:
            return float(connection.default_channel.queue_declare(queue, passive=True).message_count)
    except NotFound:   # no queue yet: nothing was ever sent to it
        return 0.0
    except (OSError, AMQPError, OperationalError) as exc:   # unreachable, refused, timed out: unknowable, not zero
        log.warning("could not read the depth of queue %s: %s", queue, exc)
        return math.nan
