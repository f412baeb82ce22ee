"""Under the web workers' gevent patching, PostgreSQL (psycopg 3) and Redis waits yield to other greenlets."""
import json
import subprocess
import sys

import pytest

from tests.integration.stack import ROOT, PostgresDatabase


def test_psycopg_and_redis_wait_cooperatively_under_gevent(redis_db):
    try:
        database = PostgresDatabase()
    except Exception as exc:  # no server on this machine
        pytest.skip(f"PostgreSQL not reachable ({exc.__class__.__name__})")
    try:
        out = subprocess.run([sys.executable, "-m", "tests.integration.gevent_probe", database.url, redis_db.url],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        database.close()
    assert out.returncode == 0, out.stderr
    ticks = json.loads(out.stdout.strip().splitlines()[-1])
    # A driver blocking the hub would leave the ticker at 0 for the whole one-second wait; cooperative ones let
    # it run (about 50 ticks when the machine is quiet, fewer under load, never none).
    assert ticks["postgres"] > 3 and ticks["redis"] > 3, ticks
