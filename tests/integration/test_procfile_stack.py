"""release, web, worker and beat started from the Procfile on a data directory that does not exist yet."""
import os
import re
import stat

import pytest

from app.embedded import free_port
from tests.integration.procfile import ProcfileProcess, release, wait_until_serving
from tests.integration.stack import wait_for

REAPED = re.compile(r"reaper pass: \{")   # the reap task's own INFO line (per-task lines are DEBUG only)


@pytest.mark.timeout(240)
def test_the_procfile_stack_starts_on_a_fresh_data_directory_and_the_reaper_ticks(redis_db, tmp_path):
    data_dir = tmp_path / "volume" / "batchery"   # neither folder exists: a new, empty volume
    port = free_port()
    env = {**os.environ, "PORT": str(port), "AUTH_DISABLED": "1", "BATCHERY_DATA_DIR": str(data_dir),
           "REDIS_URL": redis_db.url, "REDIS_PREFIX": f"procfile-{os.getpid()}:", "REAPER_INTERVAL_SECONDS": "2",
           "WORKER_CONCURRENCY": "1"}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        env.pop(name, None)
    redis_db.client.flushdb()
    # Beat first: the web process and the worker would create the data directory (for the database) and hide
    # a beat that cannot make its own schedule file's folder.
    processes = {"beat": ProcfileProcess("beat", env, tmp_path / "beat.log")}
    try:
        def schedule_file():
            processes["beat"].assert_running("beat")
            return list(data_dir.glob("celerybeat-schedule*"))
        wait_for(schedule_file, 60, interval=0.2, message="beat to create its schedule file")
        release(env, tmp_path / "release.log")  # the database's tables, before web and worker (they refuse without)
        for name in ("web", "worker"):
            processes[name] = ProcfileProcess(name, env, tmp_path / f"{name}.log")
        wait_until_serving(processes["web"], f"http://127.0.0.1:{port}/readyz")

        def reaped():
            for name, process in processes.items():
                process.assert_running(name)
            return REAPED.search(processes["worker"].log_text())
        wait_for(reaped, 120, interval=0.5, message="a reaper tick sent by beat and run by the worker")
        assert "Sending due task reap" in processes["beat"].log_text()
    finally:
        for process in processes.values():
            process.stop()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "batchery.sqlite3").stat().st_mode) == 0o600
