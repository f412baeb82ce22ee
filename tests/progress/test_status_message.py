"""The human status line and the finished/queued shapes of the progress block."""
from app.progress.view import describe_batch
from tests.progress.fakes import at, counts, fake_batch, settings  # noqa: F401  (fixture)

T0 = 1_700_000_000.0


def test_processing_line_matches_the_contract_example(settings):
    batch = fake_batch(started=T0)
    # 1.4 items/sec over the window; 24,549 remaining → 17,535 s ≈ 4h 52m.
    body = describe_batch(batch, counts(46_160, succeeded=21_600, failed=11, last=T0 + 999, window=(168, T0 + 880)),
                          now=T0 + 1000)
    p = body["progress"]
    assert (p["processed"], p["percent"], p["errors"], p["items_per_second"]) == (21_611, 46.8, 11, 1.4)
    assert p["eta_seconds"] == 17_535
    assert body["status_message"] == "Processing 21,611/46,160 objects (46.8%) · 1.4 items/sec · ~4h 52m remaining"
    assert body["estimated_completion"] == at(T0 + 1000 + 17_535)


def test_contract_duration_example():
    from app.progress.health import duration_text

    assert [duration_text(s) for s in (17_820, 7_380, 200, 12, 0)] == ["4h 57m", "2h 3m", "3m 20s", "12s", "0s"]


def test_finished_line_says_what_happened(settings):
    batch = fake_batch(status="COMPLETED_WITH_ERRORS", started=T0, completed=T0 + 7_380)
    body = describe_batch(batch, counts(46_160, succeeded=46_149, failed=11), now=T0 + 9_999)
    assert body["status_message"] == "Completed 46,160 objects · 11 failed · took 2h 3m"
    p = body["progress"]
    assert (p["percent"], p["eta_seconds"], p["current_stage"]["name"]) == (100.0, 0, "finished")
    assert p["items_per_second"] == 6.3                       # the whole run's average once finished
    assert body["estimated_completion"] == batch.completed_at


def test_percent_is_floored_so_100_means_done(settings):
    batch = fake_batch(started=T0)
    p = describe_batch(batch, counts(46_160, succeeded=46_159, last=T0, window=(100, T0)), now=T0 + 100)["progress"]
    assert p["percent"] == 99.9 and p["current_stage"]["name"] == "embedding"
    p = describe_batch(batch, counts(46_160, succeeded=46_160, last=T0, window=(100, T0)), now=T0 + 100)["progress"]
    assert p["percent"] == 100.0 and p["current_stage"] == {"name": "finalizing", "index": 3, "total": 3}


def test_queued_and_draft_have_no_rate_or_eta(settings):
    for status, stage, line in [("QUEUED", "dispatching", "Queued 1,200 objects"),
                                ("DRAFT", "draft", "Draft with 1,200 objects")]:
        body = describe_batch(fake_batch(status=status, created=T0), counts(1200), now=T0 + 5)
        p = body["progress"]
        assert (p["items_per_second"], p["eta_seconds"], body["estimated_completion"]) == (None, None, None)
        assert p["current_stage"]["name"] == stage and body["status_message"] == line


def test_cancelled_and_failed_lines(settings):
    cancelled = fake_batch(status="CANCELLED", started=T0, completed=T0 + 65)
    assert describe_batch(cancelled, counts(400, succeeded=150, cancelled=250), now=T0 + 70)["status_message"] == \
        "Cancelled · 150 of 400 objects processed, 250 cancelled · took 1m 5s"
    failed = fake_batch(status="FAILED", started=T0, completed=T0 + 3)
    assert describe_batch(failed, counts(2, failed=2), now=T0 + 70)["status_message"] == \
        "Failed 2 objects · 2 failed · took 3s"


def test_one_object_is_singular(settings):
    lines = [describe_batch(fake_batch(status=status, created=T0), counts(1), now=T0 + 5)["status_message"]
             for status in ("DRAFT", "QUEUED")]
    assert lines == ["Draft with 1 object", "Queued 1 object"]


def test_cancelled_line_matches_the_contract_example(settings):
    batch = fake_batch(status="CANCELLED", started=T0, completed=T0 + 8)
    body = describe_batch(batch, counts(2_000, succeeded=819, cancelled=1_181), now=T0 + 9)
    assert body["status_message"] == "Cancelled · 819 of 2,000 objects processed, 1,181 cancelled · took 8s"
    p = body["progress"]
    assert (p["processed"], p["cancelled"], p["succeeded"]) == (2_000, 1_181, 819)
    assert p["items_per_second"] == 100.0    # 819 finished items in 8 s; the 1,181 cancelled are not work


def test_rate_counts_finished_work_only(settings):
    cancelled_early = fake_batch(status="CANCELLED", started=T0, completed=T0 + 5)
    assert describe_batch(cancelled_early, counts(50, cancelled=50), now=T0 + 9)["progress"]["items_per_second"] is None
    rebuilt = fake_batch(started=T0)     # counters rebuilt from the database: the run's average of real work
    p = describe_batch(rebuilt, counts(100, succeeded=10, cancelled=40), now=T0 + 10)["progress"]
    assert p["items_per_second"] == 1.0 and p["eta_seconds"] == 50
