"""Faults injected into real worker processes (loaded with `celery worker --include ...`)."""
