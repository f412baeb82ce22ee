"""Who is asking: the API key (or X-Namespace when auth is disabled) picks the namespace; then the rate limit."""
from flask import g, request

from app.settings import get_settings
from app.errors import RateLimited, Unauthorized, ValidationFailed
from app.access import keys
from app.access.rate_limit import take_token


def presented_key() -> str | None:
    """The API key from `Authorization: Bearer` or `X-Api-Key`, if any."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.headers.get("X-Api-Key", "").strip() or None


def _identify() -> tuple[str, str]:
    """(rate-limit identity, namespace) of this request, or a 401/422."""
    if get_settings().AUTH_DISABLED:
        namespace = request.headers.get("X-Namespace", "default")
        if not keys.NAMESPACE_PATTERN.match(namespace):
            raise ValidationFailed("X-Namespace must be 1-64 letters, digits, '.', '_' or '-'.",
                                   {"fields": {"X-Namespace": ["Invalid namespace."]}})
        return f"ns:{namespace}", namespace
    presented = presented_key()
    found = keys.authenticate(presented) if presented else None
    if found is None:
        why = "Missing API key" if not presented else "Unknown or revoked API key"
        raise Unauthorized(f"{why}: send `Authorization: Bearer <key>` or `X-Api-Key: <key>`.",
                           headers={"WWW-Authenticate": 'Bearer realm="batchery"'})
    key_id, namespace = found
    return f"key:{key_id}", namespace


def resolve_namespace() -> None:
    """Authenticate, rate-limit, and remember the namespace on `g` (a before_request hook: returns None)."""
    if "namespace" in g:
        return
    identity, namespace = _identify()
    decision = take_token(identity)
    if not decision.allowed:
        settings = get_settings()
        raise RateLimited(
            f"Too many requests; retry after {decision.retry_after} s.",
            {"limit_per_minute": settings.RATE_LIMIT_PER_MINUTE, "burst": settings.RATE_LIMIT_BURST,
             "retry_after_seconds": decision.retry_after},
            headers={"Retry-After": str(decision.retry_after)})
    g.namespace, g.identity = namespace, identity


def current_identity() -> str:
    """Who this request counts against (the API key, or the namespace with auth off)."""
    return g.identity


def current_namespace() -> str:
    """The namespace resolved for this request."""
    return g.namespace


def document_security(api) -> None:
    """Declare both ways of sending a key in the OpenAPI document (the /docs page's Authorize button)."""
    api.spec.components.security_scheme("bearerKey", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("headerKey", {"type": "apiKey", "in": "header", "name": "X-Api-Key"})
    api.spec.options["security"] = [{"bearerKey": []}, {"headerKey": []}]
