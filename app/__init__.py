"""Batchery's application factory: config → database → Celery → API blueprints."""
import logging

from flask import Flask
from flask_smorest import Api

from app.settings import configure, load_settings
from schemas.common import ErrorSchema

log = logging.getLogger(__name__)


class BatcheryApi(Api):
    """flask-smorest with the contract's error envelope documented for every operation."""

    ERROR_SCHEMA = ErrorSchema


def create_app(test_config: dict | None = None) -> Flask:
    """Build the WSGI app; `test_config` overrides settings read from the environment."""
    settings = configure(load_settings(test_config))
    app = Flask(__name__)
    from app.api.requests import BoundedRequest

    app.request_class = BoundedRequest
    app.config.update(
        API_TITLE="Batchery", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs", OPENAPI_SWAGGER_UI_URL="/docs/assets/",  # served by ops: works offline
        MAX_CONTENT_LENGTH=settings.MAX_CONTENT_LENGTH, MAX_FORM_PARTS=settings.MAX_MULTIPART_PARTS,
        JSON_SORT_KEYS=False,
    )
    # Other upper-case test keys go to Flask as given; settings were typed above (the environment gives strings).
    app.config.update({k: v for k, v in (test_config or {}).items() if k.isupper() and not hasattr(settings, k)})
    app.extensions["batchery_settings"] = settings

    from app import db

    db.dispose_engine()
    db.ensure_schema_current()  # a database behind the code is refused: `batchery db upgrade` first

    from app.queue import configure_celery

    app.extensions["celery"] = configure_celery(settings)

    from app.api import (batch_events, batches, collections, embedders, limits, metrics, objects, ops, tasks,
                         webhooks)
    from app.api.auth import document_security
    from app.errors import register_error_handlers

    api = BatcheryApi(app)
    document_security(api)
    for blueprint in (objects.blp, batches.blp, tasks.blp, collections.blp, embedders.blp, batch_events.blp,
                      webhooks.blp, limits.blp):
        api.register_blueprint(blueprint)
    from app.api import schedules

    api.register_blueprint(schedules.blp)
    app.register_blueprint(ops.blp)
    app.register_blueprint(metrics.blp)
    from app import dashboard

    app.register_blueprint(dashboard.blp)
    register_error_handlers(app)
    if settings.AUTH_DISABLED:
        from app.access.keys import auth_disabled_banner

        log.warning("\n%s", auth_disabled_banner())
    return app
