"""The verbs of the domain, shared by the HTTP handlers and the Celery tasks; no Flask request, no Celery."""
