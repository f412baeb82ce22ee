"""A batch's live events as Server-Sent Events."""
from flask import Response

from app.api.auth import current_identity, current_namespace, resolve_namespace
from app.api.blueprint import Blueprint
from app.batches.catalog import find_batch
from app.notifications.event_stream import stream_batch_events
from app.notifications.stream_slots import HeldStream, open_slot
from schemas.webhooks import EventStreamArgsSchema, EventStreamHeadersSchema

blp = Blueprint("batch_events", __name__, url_prefix="/v1/batches", description="Live batch events (SSE).")
blp.before_request(resolve_namespace)

_STREAM_DOC = (
    "`text/event-stream`. Each message has `id:` (resume with the `Last-Event-ID` header or `?last_event_id=`), "
    "`event:` (`batch.submitted`, `progress`, `collection.documents.written`, `batch.completed`, `batch.failed`, "
    "`batch.cancelled`) and one JSON `data:` line; `: heartbeat` comments keep idle connections open. "
    "The stream ends after the batch's final event. A key may hold SSE_MAX_STREAMS_PER_KEY streams open at once; "
    "one more is 429 `rate_limited` with `Retry-After`."
)

# One message of the stream as clients parse it (the schema every message is checked against).
_SSE_MESSAGE = {"type": "object", "properties": {
    "id": {"type": "string"}, "event": {"type": "string"}, "data": {"type": "string"}, "retry": {"type": "integer"}}}


@blp.route("/<string:batch_id>/events", methods=["GET"])
@blp.arguments(EventStreamArgsSchema, location="query")
@blp.arguments(EventStreamHeadersSchema, location="headers")
@blp.response(200, _SSE_MESSAGE, content_type="text/event-stream", description=_STREAM_DOC)
def stream_events(args, headers, batch_id):
    """Stream the batch's progress and state changes until it finishes."""
    namespace = current_namespace()
    # The header is what EventSource sends when it reconnects, so it wins over the query argument.
    after = headers.get("last_event_id", args.get("last_event_id", 0))
    find_batch(namespace, batch_id)  # an unknown (or another namespace's) batch is a 404 before any byte streams
    slot = open_slot(current_identity())  # 429 when this key already has SSE_MAX_STREAMS_PER_KEY streams open
    return Response(HeldStream(slot, stream_batch_events(namespace, batch_id, after)), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
