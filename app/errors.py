"""Domain exceptions and the one mapping of every failure to the contract's error envelope."""
import logging

from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)


class StorageUnavailable(ConnectionError):
    """The object store could not be reached or answered with an error: transient, worth a retry (503 in the API)."""


class BatcheryError(Exception):
    """A refusal the client can act on; its class names the contract's error type and status."""

    status = 400
    error_type = "validation_error"

    def __init__(self, message: str, details: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


class ValidationFailed(BatcheryError):
    status, error_type = 422, "validation_error"


class Unauthorized(BatcheryError):
    status, error_type = 401, "unauthorized"


class NotFound(BatcheryError):
    status, error_type = 404, "not_found"


class InvalidState(BatcheryError):
    status, error_type = 409, "invalid_state"


class IdempotencyConflict(BatcheryError):
    status, error_type = 409, "idempotency_conflict"


class BatchTooLarge(BatcheryError):
    status, error_type = 413, "batch_too_large"


class PayloadTooLarge(BatcheryError):
    status, error_type = 413, "payload_too_large"


class EmptyBatch(BatcheryError):
    status, error_type = 422, "empty_batch"


class RateLimited(BatcheryError):
    status, error_type = 429, "rate_limited"


class ServiceUnavailable(BatcheryError):
    status, error_type = 503, "service_unavailable"


class StreamedBodyTooLarge(RequestEntityTooLarge):
    """A body without Content-Length (chunked) that went on past MAX_CONTENT_LENGTH."""


# Werkzeug's own errors (routing, body size, bad JSON) in the contract's vocabulary.
_HTTP_TYPES = {
    400: "validation_error",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "invalid_state",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def _json_keys(value):
    """Details with every mapping key a string (marshmallow uses list indexes; Werkzeug may name a part None)."""
    if isinstance(value, dict):
        return {("" if k is None else str(k)): _json_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_keys(v) for v in value]
    return value


def error_body(error_type: str, message: str, details: dict | None = None) -> dict:
    """The one error shape: {"error": {"type", "message", "details"}}."""
    return {"error": {"type": error_type, "message": message, "details": _json_keys(details or {})}}


_LOCATIONS = {"json", "query", "form", "headers", "files", "path", "cookies", "json_or_form"}


def _field_messages(messages: dict) -> dict:
    """Field errors keyed by field, whether the body was read by a view or by flask-smorest (which nests a location)."""
    if len(messages) == 1 and next(iter(messages)) in _LOCATIONS and isinstance(next(iter(messages.values())), dict):
        return next(iter(messages.values()))
    return messages


def _from_http_exception(exc: HTTPException):
    """Map an HTTPException (including flask-smorest's 422 with field messages) to the envelope."""
    data = getattr(exc, "data", None) or {}
    details = {}
    message = exc.description or exc.name
    if "messages" in data:
        details = {"fields": _field_messages(data["messages"])}
        message = "The request is not valid; see details.fields."
    elif exc.code == 404:
        message = "No such resource."
    elif exc.code == 413:
        message, details = _oversize(exc)
    elif isinstance(exc, ClientDisconnected):  # the web process's socket timeout ends a body that stopped arriving
        message = ("The request body ended before its declared length, or stopped arriving for WEB_READ_TIMEOUT "
                   "seconds.")
        details = {"setting": "WEB_READ_TIMEOUT"}
    error_type = _HTTP_TYPES.get(exc.code, "validation_error" if (exc.code or 500) < 500 else "internal_error")
    response = (error_body(error_type, message, details), exc.code)
    headers = dict(exc.get_headers()) if exc.code == 405 else {}
    headers.pop("Content-Type", None)
    return (*response, headers)


def _oversize(exc: HTTPException) -> tuple[str, dict]:
    """Which body limit Werkzeug enforced: the whole body, or the multipart parts and form fields."""
    from flask import current_app, request

    limit = request.max_content_length
    declared_over = limit is not None and (request.content_length or 0) > limit
    if declared_over or isinstance(exc, StreamedBodyTooLarge):
        details = {"setting": "MAX_CONTENT_LENGTH", "limit": limit}
        if request.content_length is not None:
            details["actual"] = request.content_length
        return f"The request body is larger than {limit} bytes (MAX_CONTENT_LENGTH).", details
    parts, memory = current_app.config.get("MAX_FORM_PARTS"), request.max_form_memory_size
    return (f"The multipart body has more than {parts} parts (MAX_MULTIPART_PARTS) or a form field larger than "
            f"{memory} bytes.",
            {"setting": "MAX_MULTIPART_PARTS", "limit": parts, "max_form_field_bytes": memory,
             "max_content_length": limit})


def register_error_handlers(app) -> None:
    """Install the mapping; registered after flask-smorest so ours wins."""

    @app.errorhandler(BatcheryError)
    def _domain(exc: BatcheryError):
        return error_body(exc.error_type, exc.message, exc.details), exc.status, exc.headers

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return _from_http_exception(exc)

    @app.errorhandler(RedisError)
    @app.errorhandler(OperationalError)
    @app.errorhandler(StorageUnavailable)
    def _dependency_down(exc: Exception):
        # An outage of Redis, the database or object storage is not the client's fault, nor a defect: ask for a retry.
        log.warning("dependency unavailable: %s", exc)
        dependency = ("redis" if isinstance(exc, RedisError) else
                      "object storage" if isinstance(exc, StorageUnavailable) else "database")
        return (error_body("service_unavailable", "A backing service is unavailable; retry shortly.",
                           {"dependency": dependency}), 503, {"Retry-After": "5"})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_body("internal_error", "An unexpected error occurred; it has been logged."), 500
