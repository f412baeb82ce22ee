"""Processes that start together (gunicorn workers, the Celery worker, beat) all create the schema without failing."""
import multiprocessing

from sqlalchemy import inspect


def _create(url: str, barrier) -> None:
    from app import db
    from app.config import configure, load_settings

    configure(load_settings({"DATABASE_URL": url}))
    db.dispose_engine()
    barrier.wait()
    db.create_schema()


def test_six_processes_creating_one_sqlite_schema_at_once(tmp_path):
    context = multiprocessing.get_context("fork")
    for round_ in range(4):
        url = f"sqlite:///{tmp_path / f'race-{round_}.sqlite3'}"
        barrier = context.Barrier(6)
        processes = [context.Process(target=_create, args=(url, barrier)) for _ in range(6)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        assert [p.exitcode for p in processes] == [0] * 6
    from app import db

    engine = db.build_engine(url)
    assert {"batches", "batch_events", "webhooks", "webhook_deliveries"} <= set(inspect(engine).get_table_names())
    engine.dispose()
