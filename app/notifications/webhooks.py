"""Webhook subscriptions of a namespace, who receives which event (announced after commit), and the delivery log."""
import logging
from datetime import timedelta

from sqlalchemy import delete, select, update

from app import queue
from app.db import session_scope
from app.errors import NotFound, ServiceUnavailable, ValidationFailed
from app.models import Batch, BatchEvent, Webhook, WebhookDelivery, utcnow
from app.models.webhooks import BATCH_TARGET
from app.notifications.signing import new_webhook_secret
from app.notifications.url_safety import ResolutionUnavailable, UnsafeUrl, check_url

log = logging.getLogger(__name__)


def ensure_deliverable(url: str, field: str = "url") -> None:
    """Refuse (422 naming the field) a URL that deliveries would not be allowed to call."""
    try:
        check_url(url)
    except ResolutionUnavailable as exc:  # not the URL's fault: ask for a retry rather than calling it bad
        raise ServiceUnavailable(f"The {field}'s host could not be resolved just now; retry shortly ({exc}).",
                                 {"field": field}, {"Retry-After": "5"}) from None
    except UnsafeUrl as exc:
        raise ValidationFailed(f"The {field} cannot receive webhooks: {exc}.", {"fields": {field: [str(exc)]}}) from None


def describe_webhook(webhook: Webhook, with_secret: bool = False) -> dict:
    """The public shape of a subscription; the secret only in the creation answer."""
    body = {"webhook_id": webhook.id, "url": webhook.url, "events": list(webhook.events),
            "created_at": webhook.created_at}
    if with_secret:
        body["secret"] = webhook.secret
    return body


def create_webhook(namespace: str, url: str, events: list[str], secret: str | None = None) -> dict:
    """Subscribe a URL to event types; a secret is generated when none is given (shown only now)."""
    ensure_deliverable(url)
    with session_scope() as session:
        webhook = Webhook(namespace=namespace, url=url, events=list(dict.fromkeys(events)),
                          secret=secret or new_webhook_secret(), created_at=utcnow())
        session.add(webhook)
        session.flush()
        return describe_webhook(webhook, with_secret=True)


def _load(session, namespace: str, webhook_id: str) -> Webhook:
    """A subscription of this namespace, or NotFound."""
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or webhook.namespace != namespace:
        raise NotFound(f"Webhook {webhook_id} not found.")
    return webhook


def list_webhooks(namespace: str) -> list[dict]:
    """The namespace's subscriptions, newest first."""
    with session_scope() as session:
        rows = session.scalars(select(Webhook).where(Webhook.namespace == namespace).order_by(Webhook.id.desc()))
        return [describe_webhook(w) for w in rows]


def get_webhook(namespace: str, webhook_id: str) -> dict:
    """One subscription (without its secret)."""
    with session_scope() as session:
        return describe_webhook(_load(session, namespace, webhook_id))


def delete_webhook(namespace: str, webhook_id: str) -> None:
    """Remove a subscription and its delivery log; deliveries still queued for it are dropped."""
    with session_scope() as session:
        session.delete(_load(session, namespace, webhook_id))
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))


def list_deliveries(namespace: str, webhook_id: str, event_id: str | None = None, limit: int = 100) -> list[dict]:
    """Every recorded attempt for a subscription, newest first."""
    with session_scope() as session:
        _load(session, namespace, webhook_id)
        query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
        if event_id:
            query = query.where(WebhookDelivery.event_id == event_id)
        rows = session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit))
        return [{"event_id": d.event_id, "type": d.type, "attempt": d.attempt, "status_code": d.status_code,
                 "error": d.error, "outcome": d.outcome, "url": d.url, "at": d.at} for d in rows]


def targets_of(session, event: BatchEvent) -> list[str]:
    """Who gets this event: the batch's own webhook_url, then each subscription to its type."""
    targets = []
    batch = session.get(Batch, event.batch_id)
    if batch is not None and batch.webhook_url:
        targets.append(BATCH_TARGET)
    subscriptions = session.scalars(select(Webhook).where(Webhook.namespace == event.namespace).order_by(Webhook.id))
    return targets + [w.id for w in subscriptions if event.type in (w.events or [])]


def unannounced(batch_id: str | None = None, settled_seconds: int = 0, limit: int = 500) -> list[tuple[str, list[str]]]:
    """Events whose deliveries were not enqueued yet, as (event_id, targets); optionally only older ones."""
    query = select(BatchEvent).where(BatchEvent.announced_at.is_(None))
    if batch_id is not None:
        query = query.where(BatchEvent.batch_id == batch_id)
    if settled_seconds:
        query = query.where(BatchEvent.created_at < utcnow() - timedelta(seconds=settled_seconds))
    with session_scope() as session:
        events = session.scalars(query.order_by(BatchEvent.id).limit(limit)).all()
        return [(event.event_id, targets_of(session, event)) for event in events]


def mark_announced(event_ids: list[str]) -> None:
    """Remember that these events' deliveries are enqueued."""
    if event_ids:
        with session_scope() as session:
            session.execute(update(BatchEvent).where(BatchEvent.event_id.in_(event_ids),
                                                     BatchEvent.announced_at.is_(None)).values(announced_at=utcnow()))


def announce(batch_id: str | None = None, settled_seconds: int = 0) -> int:
    """Enqueue one delivery per (unannounced event, target) once the events committed; never raises, returns how many."""
    try:
        pending = unannounced(batch_id, settled_seconds)
        for event_id, targets in pending:
            for target in targets:
                queue.send("batchery.deliver_webhook", event_id, target)
        mark_announced([event_id for event_id, _ in pending])
        return sum(len(targets) for _, targets in pending)
    except Exception:  # the batch must never fail for a webhook; the periodic sweep announces it later
        log.exception("could not announce the events of %s", batch_id or "any batch")
        return 0
