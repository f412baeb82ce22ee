"""The recent rate: per-slice counters in Redis, read in one round trip, following a changing pace."""
import pytest

from app.redis_client import key
from app.progress import counters, rate
from app.progress.view import build_progress
from tests.progress.fakes import counts, fake_batch, settings  # noqa: F401  (fixture)

T0 = 1_700_000_000.0  # a round clock for the tests (a multiple of the slice width)


def finish_items(batch_id, times):
    """Count one finished item at each time, as count_transition does after a DB update."""
    for t in times:
        counters.count_transition(batch_id, "PROCESSING", "SUCCEEDED", now=t)


def read(batch, now):
    return build_progress(batch, counters.read_counts(batch, now=now), now=now)


def test_rate_follows_the_recent_pace_not_the_lifetime_average(fake_redis, settings):
    batch = fake_batch(started=T0)
    counters.store_counts(batch.id, counts(10_000))
    fast = [T0 + i * 0.5 for i in range(1, 2001)]             # 2 items/sec for 1000 s
    slow = [T0 + 1000 + i * 2.0 for i in range(1, 301)]      # then 0.5 items/sec for 600 s
    finish_items(batch.id, fast)
    p = read(batch, T0 + 1000)
    assert p["items_per_second"] == 2.0
    finish_items(batch.id, slow)
    p = read(batch, T0 + 1600)
    assert p["processed"] == 2300
    assert p["items_per_second"] == pytest.approx(0.5, abs=0.02)  # the lifetime average would say 1.4
    assert p["eta_seconds"] == pytest.approx((10_000 - 2300) * 2, rel=0.03)
    assert p["current_stage"] == {"name": "embedding", "index": 2, "total": 3}


def test_rate_is_null_before_progress_and_counts_only_since_start(fake_redis, settings):
    batch = fake_batch(started=T0 + 5)
    counters.store_counts(batch.id, counts(100))
    assert read(batch, T0 + 6)["items_per_second"] is None and read(batch, T0 + 6)["eta_seconds"] is None
    finish_items(batch.id, [T0 + 6, T0 + 7, T0 + 8, T0 + 9])
    p = read(batch, T0 + 9)
    assert p["items_per_second"] == 1.0                       # 4 items in the 4 s since start, not 4 in 120 s
    assert p["eta_seconds"] == 96


def test_a_quiet_window_reads_zero_and_gives_no_eta(fake_redis, settings):
    batch = fake_batch(started=T0)
    counters.store_counts(batch.id, counts(50))
    finish_items(batch.id, [T0 + 1, T0 + 2])
    p = read(batch, T0 + 1000)
    assert p["processed"] == 2 and p["items_per_second"] == 0.0 and p["eta_seconds"] is None


def test_slices_expire_and_the_read_is_one_fixed_size_mget(fake_redis, settings):
    batch = fake_batch(started=T0)
    counters.store_counts(batch.id, counts(10))
    finish_items(batch.id, [T0 + 3])
    slice_key = key("rate", batch.id, int((T0 + 3) // rate.slice_seconds()))
    assert fake_redis.get(slice_key) == "1"
    assert 0 < fake_redis.ttl(slice_key) <= rate.slice_seconds() * (rate.SLICES + 1)
    pipe = fake_redis.pipeline()
    rate.queue_window_read(pipe, batch.id, T0 + 3)
    (values,) = pipe.execute()
    assert len(values) == rate.SLICES and rate.window_total(values) == 1


@pytest.mark.parametrize("raw,shown", [(1.4321, 1.4), (0.05234, 0.052), (1234.5, 1200.0), (12.96, 13.0)])
def test_rates_are_rounded_to_two_significant_figures(fake_redis, settings, raw, shown):
    batch = fake_batch(started=T0)
    p = build_progress(batch, counts(1_000_000, succeeded=100, window=(round(raw * 1000), T0)), now=T0 + 1000)
    assert p["items_per_second"] == shown


def test_rebuilt_counters_fall_back_to_the_run_average(settings):
    batch = fake_batch(started=T0)
    p = build_progress(batch, counts(400, succeeded=100, window=None), now=T0 + 50)
    assert p["items_per_second"] == 2.0 and p["eta_seconds"] == 150
