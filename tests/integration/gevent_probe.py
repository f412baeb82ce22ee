"""Run as a script under gevent's monkey-patching (as the web workers are): how many ticks another greenlet
got while a PostgreSQL query and a Redis call each waited server-side. Prints JSON."""
from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402


def ticks_during(wait) -> int:
    """Ticks a 20 ms ticker greenlet made while `wait()` ran in another greenlet."""
    ticks = [0]

    def ticker():
        while True:
            gevent.sleep(0.02)
            ticks[0] += 1

    running = gevent.spawn(ticker)
    gevent.spawn(wait).get()
    running.kill()
    return ticks[0]


def main(database_url: str, redis_url: str) -> None:
    """Measure each driver; a driver that blocks the hub lets the ticker make no tick at all."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # connect outside the measurement
        postgres = ticks_during(lambda: conn.execute(text("SELECT pg_sleep(1)")))
    client = redis.Redis.from_url(redis_url)
    client.ping()
    redis_ticks = ticks_during(lambda: client.blpop(["gevent-probe:nothing"], timeout=1))
    print(json.dumps({"postgres": postgres, "redis": redis_ticks}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
