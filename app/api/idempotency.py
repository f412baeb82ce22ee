"""`Idempotency-Key` for creating POSTs: a retry gets the first answer, a changed body gets 409."""
import hashlib
import json
import re
from functools import wraps

from flask import Response, request

from app.api.auth import current_namespace
from app.errors import ValidationFailed
from app.access import idempotency
from app.untrusted_json import MalformedJson, parse_json

_KEY = re.compile(r"^[!-~]{1,255}$")
# One-time secrets are shown once: never stored in a record, so never replayed (a replay shows them as null).
ONE_TIME_FIELDS = ("webhook_secret", "secret")
HEADER_DOC = {"in": "header", "name": "Idempotency-Key", "required": False,
              "description": "Any unique string (1-255 visible ASCII characters). A retry with the same key and body "
                             "returns the first answer (one-time secrets such as `webhook_secret` as null); "
                             "the same key with a different body is 409 "
                             "`idempotency_conflict`. Keys are remembered for IDEMPOTENCY_TTL_SECONDS.",
              "schema": {"type": "string", "pattern": _KEY.pattern}}


def _file_digest(storage) -> str:
    """sha256 of an uploaded part, leaving its stream where the view expects it."""
    digest = hashlib.sha256()
    while block := storage.stream.read(1024 * 1024):
        digest.update(block)
    storage.stream.seek(0)
    return digest.hexdigest()


def request_fingerprint() -> str:
    """sha256 of what the request asks for: JSON by value, multipart by fields and part contents."""
    if request.mimetype == "multipart/form-data":
        content = {"form": sorted(request.form.lists(), key=lambda field: str(field[0])),
                   "files": [(name, f.filename or "", _file_digest(f))
                             for name in sorted(request.files) for f in request.files.getlist(name)]}
    else:
        raw = request.get_data(cache=True)
        try:
            content = {"json": parse_json(raw)}
        except MalformedJson:  # the view refuses it; the fingerprint only needs to be stable
            content = {"raw": hashlib.sha256(raw).hexdigest()}
    content["query"] = request.query_string.decode("latin-1")
    content["type"] = request.mimetype
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def without_secrets(body: dict) -> dict:
    """The answer as it may be replayed: one-time secrets blanked."""
    return {k: (None if k in ONE_TIME_FIELDS else v) for k, v in body.items()}


def idempotent(view):
    """Wrap a view that answers with a JSON Response (place it above `@blp.response`)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not _KEY.match(key):
            raise ValidationFailed("Idempotency-Key must be 1-255 visible ASCII characters.",
                                   {"fields": {"Idempotency-Key": ["Invalid value."]}})
        namespace, scope = current_namespace(), f"{request.method} {request.path}"
        replay = idempotency.begin(namespace, key, scope, request_fingerprint())
        if replay is not None:
            return Response(json.dumps(replay.body), replay.status, mimetype="application/json",
                            headers={"Idempotent-Replayed": "true"})
        try:
            response = view(*args, **kwargs)
        except BaseException:
            idempotency.release(namespace, key, scope)
            raise
        if 200 <= response.status_code < 300:
            idempotency.finish(namespace, key, scope, response.status_code, without_secrets(response.get_json()))
        else:
            idempotency.release(namespace, key, scope)
        return response

    return wrapper
