"""Health rules with a controlled clock: stalls, failure ratio, slowdowns, and their human reasons."""
from tests.overrides import with_overrides
from app.progress.view import batch_health
from tests.progress.fakes import counts, fake_batch, settings  # noqa: F401  (fixture)

T0 = 1_700_000_000.0


def test_steady_batch_is_healthy(settings):
    batch = fake_batch(started=T0)
    verdict = batch_health(batch, counts(1000, succeeded=300, last=T0 + 299, window=(120, T0 + 180)), now=T0 + 300)
    assert (verdict.state, verdict.stalled_seconds, verdict.reasons) == ("healthy", 1, [])


def test_no_progress_for_stall_seconds_while_items_remain_is_unhealthy(settings):
    batch = fake_batch(started=T0)
    just_under = batch_health(batch, counts(500, succeeded=120, last=T0 + 100, window=(0, T0 + 300)), now=T0 + 399)
    assert just_under.stalled_seconds == 299 and just_under.state != "unhealthy"
    stalled = batch_health(batch, counts(500, succeeded=120, last=T0 + 100, window=(0, T0 + 340)), now=T0 + 460)
    assert stalled.state == "unhealthy" and stalled.stalled_seconds == 360
    assert stalled.reasons[0] == "No progress for 6m 0s while 380 of 500 objects remain (threshold 5m 0s)."


def test_a_queued_batch_no_worker_picks_up_goes_unhealthy(settings):
    batch = fake_batch(status="QUEUED", created=T0)
    assert batch_health(batch, counts(10), now=T0 + 60).state == "healthy"
    verdict = batch_health(batch, counts(10), now=T0 + 301)
    assert verdict.state == "unhealthy" and verdict.stalled_seconds == 301


def test_stall_threshold_is_configurable(settings):
    with_overrides(STALL_SECONDS=30)
    batch = fake_batch(started=T0)
    assert batch_health(batch, counts(10, succeeded=1, last=T0 + 10, window=(1, T0)), now=T0 + 45).state == "unhealthy"


def test_failures_above_the_ratio_degrade(settings):
    batch = fake_batch(started=T0)
    ok = batch_health(batch, counts(1000, succeeded=90, failed=10, last=T0 + 99, window=(100, T0)), now=T0 + 100)
    assert ok.state == "healthy"                                   # 10% is the threshold, not above it
    bad = batch_health(batch, counts(1000, succeeded=88, failed=12, last=T0 + 99, window=(100, T0)), now=T0 + 100)
    assert bad.state == "degraded"
    assert bad.reasons == ["12 of 100 processed objects failed (12.0%, above the 10% threshold)."]
    with_overrides(HEALTH_ERROR_RATIO=0.2)
    assert batch_health(batch, counts(1000, succeeded=88, failed=12, last=T0 + 99, window=(100, T0)),
                        now=T0 + 100).state == "healthy"


def test_a_finished_batch_keeps_its_failure_verdict_but_never_stalls(settings):
    done = fake_batch(status="COMPLETED_WITH_ERRORS", started=T0, completed=T0 + 50)
    verdict = batch_health(done, counts(3, succeeded=2, failed=1), now=T0 + 10_000)
    assert verdict.state == "degraded" and verdict.stalled_seconds == 0
    clean = fake_batch(status="COMPLETED", started=T0, completed=T0 + 50)
    assert batch_health(clean, counts(3, succeeded=3), now=T0 + 10_000).state == "healthy"


def test_rate_dropping_below_a_fraction_of_the_average_degrades(settings):
    batch = fake_batch(started=T0)
    # 1000 s at 2/s, then the last 120 s window saw only 30 items: 0.25/s against an average of ~1.8/s.
    slow = counts(10_000, succeeded=2000, last=T0 + 1119, window=(30, T0 + 1000))
    verdict = batch_health(batch, slow, now=T0 + 1120)
    assert verdict.state == "degraded"
    assert verdict.reasons == ["Processing slowed to 0.25 items/sec, below 25% of this batch's average of "
                               "1.8 items/sec."]
    with_overrides(HEALTH_SLOW_RATIO=0.1)
    assert batch_health(batch, slow, now=T0 + 1120).state == "healthy"


def test_no_slowdown_verdict_before_a_full_window_ran(settings):
    batch = fake_batch(started=T0)
    ramping = counts(10_000, succeeded=5, last=T0 + 59, window=(5, T0))
    assert batch_health(batch, ramping, now=T0 + 60).state == "healthy"


def test_reasons_add_up_when_several_rules_fire(settings):
    batch = fake_batch(started=T0)
    verdict = batch_health(batch, counts(100, succeeded=10, failed=10, last=T0 + 100, window=(0, T0 + 900)),
                           now=T0 + 1000)
    assert verdict.state == "unhealthy" and len(verdict.reasons) == 3
    assert [r.split(" ")[0] for r in verdict.reasons] == ["No", "10", "Processing"]
