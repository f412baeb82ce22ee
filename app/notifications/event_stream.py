"""A batch's Server-Sent Events: its recorded events in order, progress when it moves, heartbeats, until it ends.

The stream polls every SSE_POLL_MS: first the batch's change mark in Redis (batch_changes), then — only
when it moved, or every few seconds regardless — the database with short sessions, so an idle stream costs
one Redis round trip per poll and holds no connection between polls. Event messages carry their row id as
`id:`; progress messages repeat the id of the last event sent, so a client resuming with Last-Event-ID
misses no event.
"""
import json
import logging
import time

from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from app.settings import get_settings
from app.errors import NotFound
from app.models.status import FINISHED_BATCH
from app.batches.catalog import get_batch
from app.notifications.batch_changes import ChangeWatch
from app.notifications.events import TERMINAL_TYPES, events_after

log = logging.getLogger(__name__)
_PROGRESS_KEYS = ("total", "processed", "succeeded", "skipped", "failed")


def sse_message(event_id: int, event: str, data: dict) -> str:
    """One SSE message; the JSON stays on a single `data:` line."""
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


def _progress(view: dict) -> dict:
    """The progress message of a batch view."""
    return {"batch_id": view["batch_id"], "status": view["status"], "progress": view["progress"],
            "status_message": view["status_message"]}


class _Progress:
    """Remembers the last progress sent so only real movement (status or counters) is sent again."""

    def __init__(self):
        self.last = None

    def message(self, cursor: int, view: dict) -> str | None:
        """A progress message if the batch moved since the last one, else None."""
        fingerprint = (view["status"], *(view["progress"][k] for k in _PROGRESS_KEYS))
        if fingerprint == self.last:
            return None
        self.last = fingerprint
        return sse_message(cursor, "progress", _progress(view))


def stream_batch_events(namespace: str, batch_id: str, after_id: int = 0, clock=time.monotonic, sleep=time.sleep):
    """Yield SSE text for a batch until it has finished (after its final event) or SSE_MAX_SECONDS pass."""
    settings = get_settings()
    deadline = clock() + settings.SSE_MAX_SECONDS
    cursor, progress, watch = after_id, _Progress(), ChangeWatch(batch_id, clock)
    yield "retry: 2000\n\n"
    last_sent = clock()
    while clock() < deadline:
        chunks, ended = [], False
        try:
            if watch.changed():
                chunks, ended, cursor = _tick(namespace, batch_id, cursor, progress)
        except NotFound:  # the batch was deleted while we watched
            return
        except (OperationalError, RedisError) as exc:  # a transient outage: keep the stream, try again
            log.warning("event stream of %s: %s", batch_id, exc)
            watch.read_failed()
        if chunks:
            yield "".join(chunks)
            last_sent = clock()
        if ended:
            return
        if clock() - last_sent >= settings.SSE_HEARTBEAT_SECONDS:
            yield ": heartbeat\n\n"
            last_sent = clock()
        sleep(settings.SSE_POLL_MS / 1000.0)


def _tick(namespace: str, batch_id: str, cursor: int, progress: _Progress) -> tuple[list[str], bool, int]:
    """One poll: new events in id order (fresh progress just before a final event); (messages, ended, cursor)."""
    view = get_batch(namespace, batch_id)  # read before the events: a finished status means its event is visible
    chunks, ended = [], False
    for row_id, body in events_after(batch_id, cursor):
        if body["type"] in TERMINAL_TYPES:
            chunks.append(progress.message(cursor, get_batch(namespace, batch_id)) or "")
            ended = True
        chunks.append(sse_message(row_id, body["type"], body))
        cursor = row_id
    if not ended:
        chunks.append(progress.message(cursor, view) or "")
        # Finished with nothing newer than the cursor: the client has seen the final event already.
        ended = view["status"] in FINISHED_BATCH and not events_after(batch_id, cursor, limit=1)
    return [c for c in chunks if c], ended, cursor
