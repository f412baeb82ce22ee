"""Ids, cursors, settings and schemas: the small pieces everything else leans on."""
import pytest
from marshmallow import ValidationError

from app.settings import load_settings
from app.errors import ValidationFailed
from app.models import new_id
from app.objects.catalog import safe_filename
from app.pagination import decode_cursor, encode_cursor
from schemas.batches import BatchCreateSchema


def test_ids_are_prefixed_unique_and_time_ordered():
    ids = [new_id("bat") for _ in range(2000)]
    assert all(i.startswith("bat_") and len(i) == 30 for i in ids)
    assert len(set(ids)) == 2000 and ids == sorted(ids)


def test_cursor_round_trip_and_forgery():
    assert decode_cursor(encode_cursor("bat_123")) == "bat_123"
    assert decode_cursor(encode_cursor(42)) == 42
    assert decode_cursor(None) is None
    for forged in ["%%%", "bm90IGpzb24", "e30"]:
        with pytest.raises(ValidationFailed):
            decode_cursor(forged)


def test_settings_from_environment_and_overrides():
    env = {"AUTH_DISABLED": "yes", "MAX_BATCH_OBJECTS": "128", "BATCHERY_DATA_DIR": "/tmp/x"}
    settings = load_settings({"MAX_BATCH_OBJECTS": 64}, environ=env)
    assert settings.AUTH_DISABLED is True and settings.MAX_BATCH_OBJECTS == 64
    assert settings.database_url == "sqlite:////tmp/x/batchery.sqlite3"
    assert load_settings(environ={"DATABASE_URL": "postgresql+psycopg://u@h/db"}).database_url.startswith("postgresql")


@pytest.mark.parametrize("raw,expected", [
    ("../../etc/passwd", "passwd"), ("C:\\Users\\me\\report.pdf", "report.pdf"), ("a\x00b.txt", "ab.txt"),
    ("", "upload"), ("..", "upload"), ("x" * 1000, "x" * 255), (".hidden", "hidden"),
])
def test_filenames_are_display_names_only(raw, expected):
    assert safe_filename(raw) == expected


def test_batch_schema_rejects_unknown_fields_and_loads_defaults():
    loaded = BatchCreateSchema().load({"collection_id": "docs", "submit_at": "2030-01-01T10:00:00"})
    assert loaded["force_overwrite"] is False and loaded["object_ids"] == [] and loaded["auto_submit"] is False
    assert loaded["submit_at"].tzinfo is not None
    with pytest.raises(ValidationError) as caught:
        BatchCreateSchema().load({"collection_id": "docs", "bogus": True})
    assert "bogus" in caught.value.messages
    with pytest.raises(ValidationError):
        BatchCreateSchema().load({"collection_id": "has space"})


def test_every_beat_entry_names_a_registered_task_routed_to_the_periodic_queue():
    import celeryconfig
    import tasks

    for name, entry in celeryconfig.beat_schedule.items():
        assert entry["task"] in tasks.celery_app.tasks, name
        assert celeryconfig.task_routes[entry["task"]] == {"queue": "batchery.periodic"}, name
        assert 0 < entry["options"]["expires"] <= entry["schedule"], name
