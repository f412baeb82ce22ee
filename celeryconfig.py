"""Celery configuration for `celery -A tasks`: data only, every value built by app.settings from the environment."""
from app.settings import get_settings

globals().update(get_settings().celery_config())
