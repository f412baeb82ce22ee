"""`celery -A tasks worker|beat|flower` finds the Celery app here; importing registers every task."""
from app.queue import celery_app

celery = app = celery_app

from tasks import batch  # noqa: E402,F401  (registers the tasks)
from tasks import maintenance  # noqa: E402,F401
from tasks import webhooks  # noqa: E402,F401
from tasks import periodic  # noqa: E402,F401

__all__ = ["celery", "app", "celery_app"]
