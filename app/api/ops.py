"""Liveness and readiness probes, and the Swagger UI assets of /docs (served here, so /docs works offline)."""
from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, send_from_directory
from sqlalchemy import text

from app.db import get_engine
from app.redis_client import get_redis

blp = Blueprint("ops", __name__)


@blp.get("/healthz")
def healthz():
    """The process is up."""
    return {"status": "ok"}


def _check(probe) -> dict:
    """Run one dependency probe, reporting the failure instead of raising."""
    try:
        probe()
        return {"ok": True}
    except Exception as exc:  # readiness reports any failure; it never raises
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _ping_database():
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


@blp.get("/readyz")
def readyz():
    """The database and Redis are reachable."""
    checks = {"database": _check(_ping_database), "redis": _check(lambda: get_redis().ping())}
    ready = all(c["ok"] for c in checks.values())
    return {"status": "ready" if ready else "unavailable", "checks": checks}, (200 if ready else 503)


_SWAGGER_UI = Path(flask_swagger_ui.__file__).parent / "dist"  # swagger-ui-dist, shipped in a PyPI package


@blp.get("/docs/assets/<path:name>")
def swagger_ui_asset(name):
    """A Swagger UI file for /docs, from the installed package rather than a CDN."""
    return send_from_directory(_SWAGGER_UI, name, max_age=86400)
