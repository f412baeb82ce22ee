"""A batch's live events as Server-Sent Events."""
from flask import Response, request
from flask_smorest import Blueprint

from app.api.auth import current_namespace, resolve_namespace
from app.errors import ValidationFailed
from app.services.batches import find_batch
from app.services.event_stream import stream_batch_events
from schemas.webhooks import EventStreamArgsSchema

blp = Blueprint("batch_events", __name__, url_prefix="/v1/batches", description="Live batch events (SSE).")
blp.before_request(resolve_namespace)

_STREAM_DOC = (
    "`text/event-stream`. Each message has `id:` (resume with the `Last-Event-ID` header or `?last_event_id=`), "
    "`event:` (`batch.submitted`, `progress`, `collection.documents.written`, `batch.completed`, `batch.failed`, "
    "`batch.cancelled`) and one JSON `data:` line; `: heartbeat` comments keep idle connections open. "
    "The stream ends after the batch's final event."
)


def _resume_point(args) -> int:
    """Where to resume: the Last-Event-ID header (what EventSource sends on reconnect), else the query argument."""
    header = request.headers.get("Last-Event-ID")
    if header is None or not header.strip():
        return args["last_event_id"] or 0
    if not header.strip().isdigit() or len(header.strip()) > 18:
        raise ValidationFailed("Last-Event-ID must be a non-negative integer.",
                               {"fields": {"Last-Event-ID": ["Not a non-negative integer."]}})
    return int(header)


@blp.route("/<string:batch_id>/events", methods=["GET"])
@blp.arguments(EventStreamArgsSchema, location="query")
@blp.response(200, content_type="text/event-stream", description=_STREAM_DOC)
@blp.doc(parameters=[{"in": "header", "name": "Last-Event-ID", "required": False,
                      "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}}])
def stream_events(args, batch_id):
    """Stream the batch's progress and state changes until it finishes."""
    namespace = current_namespace()
    after = _resume_point(args)
    find_batch(namespace, batch_id)  # an unknown (or another namespace's) batch is a 404 before any byte streams
    return Response(stream_batch_events(namespace, batch_id, after), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
