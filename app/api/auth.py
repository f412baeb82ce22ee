"""Which namespace a request acts in: from its API key, or from X-Namespace when auth is disabled."""
import re

from flask import g, request

from app.config import get_settings
from app.errors import Unauthorized, ValidationFailed

_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def presented_key() -> str | None:
    """The API key from `Authorization: Bearer` or `X-Api-Key`, if any."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.headers.get("X-Api-Key") or None


def resolve_namespace() -> None:
    """Authenticate the request and remember its namespace on `g` (a before_request hook: returns None)."""
    settings = get_settings()
    if settings.AUTH_DISABLED:
        namespace = request.headers.get("X-Namespace", "default")
        if not _NAMESPACE.match(namespace):
            raise ValidationFailed("X-Namespace must be 1-64 letters, digits, '.', '_' or '-'.")
    else:
        raise Unauthorized("API keys are not enabled in this build; run with AUTH_DISABLED=1.")
    g.namespace = namespace


def current_namespace() -> str:
    """The namespace resolved for this request."""
    return g.namespace
