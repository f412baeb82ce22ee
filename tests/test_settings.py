"""One configuration source: Flask and Celery both read Settings; celeryconfig.py adds nothing of its own."""
import json
import os
import subprocess
import sys

from app.settings import load_settings
from tests.integration.stack import ROOT


def test_celery_configuration_is_built_from_settings():
    conf = load_settings({"REDIS_URL": "redis://cache:6380/2", "SCHEDULER_INTERVAL_SECONDS": 7,
                          "SEARCH_CACHE_SWEEP_SECONDS": 11, "ITEM_SOFT_TIME_LIMIT_SECONDS": 40}).celery_config()
    assert conf["broker_url"] == conf["result_backend"] == "redis://cache:6380/2"
    assert conf["beat_schedule"]["run-due-schedules"]["schedule"] == 7.0
    assert conf["beat_schedule"]["sweep-search-cache"]["schedule"] == 11.0
    assert conf["task_annotations"]["batchery.embed_object"] == {"soft_time_limit": 40, "time_limit": 70}
    assert load_settings({"CELERY_BROKER_URL": "amqp://guest@mq//"}).celery_config()["broker_url"] == "amqp://guest@mq//"


def test_celeryconfig_reads_the_environment_through_settings():
    env = {**os.environ, "REAPER_INTERVAL_SECONDS": "9", "REDIS_URL": "redis://elsewhere:6379/3"}
    env.pop("CELERY_BROKER_URL", None)
    out = subprocess.run([sys.executable, "-c", "import json, celeryconfig as c; print(json.dumps("
                          "[c.broker_url, c.beat_schedule['reap']['schedule']]))"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(out) == ["redis://elsewhere:6379/3", 9.0]


def test_create_app_configures_celery_from_the_same_settings(app):
    assert app.extensions["celery"].conf.broker_url == "memory://"
    assert app.extensions["batchery_settings"].CELERY_BROKER_URL == "memory://"


def test_on_rabbitmq_queue_and_broadcast_names_carry_the_deployment_prefix():
    from app.queue import celery_app, configure_celery

    try:
        configure_celery(load_settings({"CELERY_BROKER_URL": "amqp://guest@mq//", "REDIS_PREFIX": "dep-a:"},
                                       environ={}))
        queues = celery_app.amqp.queues
        # Batchery's names (routes, `-Q`, routing keys) stay; the broker's carry the prefix (kombu prefixes Redis keys).
        assert {q.name for q in queues.consume_from.values()} == {"dep-a:batchery", "dep-a:batchery.periodic"}
        assert queues["batchery"].routing_key == "batchery" and queues["batchery"].exchange.name == "dep-a:batchery"
        queues.select(["batchery.semantic"])   # what `celery worker -Q batchery.semantic` does
        assert list(queues.consume_from) == ["dep-a:batchery.semantic"]
        assert celery_app.amqp.router.route({}, "batchery.reap")["queue"].name == "dep-a:batchery.periodic"
        assert celery_app.control.mailbox.exchange.name == "dep-a:celery.pidbox"

        configure_celery(load_settings({"REDIS_URL": "redis://cache:6380/2", "REDIS_PREFIX": "dep-a:"}, environ={}))
        assert set(celery_app.amqp.queues) == {"batchery", "batchery.periodic"}
        assert celery_app.control.mailbox.exchange.name == "celery.pidbox"
    finally:
        configure_celery(load_settings({"CELERY_BROKER_URL": "memory://", "CELERY_RESULT_BACKEND": "cache+memory://"},
                                       environ={}))
