"""One attempt to deliver one event to one target: check the URL again, sign, POST, record the outcome."""
import json
import logging
import time
from dataclasses import dataclass

import requests
from redis.exceptions import RedisError
from sqlalchemy import exists, select

from app import queue
from app.settings import get_settings
from app.db import insert_ignoring_duplicates, session_scope
from app.models import Batch, BatchEvent, Webhook, WebhookDelivery, utcnow
from app.models.webhooks import BATCH_TARGET
from app.redis_client import get_redis, key
from app.notifications.events import event_body
from app.notifications.signing import signature_header
from app.notifications.url_safety import ResolutionUnavailable, UnsafeUrl, check_url

log = logging.getLogger(__name__)
DELIVERED, RETRYING, FAILED, DROPPED = "delivered", "retrying", "failed", "dropped"
USER_AGENT = "Batchery-Webhooks/1"
_MAX_DELAY_SECONDS = 1800.0  # below the broker's visibility timeout, so a waiting retry is never redelivered


@dataclass(frozen=True)
class Plan:
    """Everything an attempt needs, read in one short transaction."""

    event_id: str
    event_type: str
    namespace: str
    target: str
    url: str
    secret: str
    body: bytes


def _plan(event_id: str, target: str) -> Plan | None:
    """What to send where; None when the event, batch or subscription is gone, or it was already delivered."""
    with session_scope() as session:
        event = session.scalar(select(BatchEvent).where(BatchEvent.event_id == event_id))
        if event is None or session.scalar(select(exists().where(
                WebhookDelivery.event_id == event_id, WebhookDelivery.target == target,
                WebhookDelivery.outcome == DELIVERED))):
            return None
        if target == BATCH_TARGET:
            batch = session.get(Batch, event.batch_id)
            url, secret = (batch.webhook_url, batch.webhook_secret) if batch else (None, None)
        else:
            webhook = session.get(Webhook, target)
            ok = webhook is not None and webhook.namespace == event.namespace
            url, secret = (webhook.url, webhook.secret) if ok else (None, None)
        if not url:
            return None
        body = json.dumps(event_body(event), separators=(",", ":")).encode()
        return Plan(event.event_id, event.type, event.namespace, target, url, secret or "", body)


def backoff_seconds(attempt: int) -> float:
    """Delay before the attempt after `attempt`: up to base × 2^(attempt-1), with full jitter (the one retry policy)."""
    return queue.backoff_seconds(attempt - 1, get_settings().WEBHOOK_BACKOFF_BASE_MS / 1000.0, _MAX_DELAY_SECONDS)


def _post(plan: Plan, attempt: int) -> tuple[int | None, str | None]:
    """POST the signed body without following redirects; (status code, error) — never raises for network trouble."""
    headers = {
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "Batchery-Signature": signature_header(plan.secret, plan.body, int(time.time())),
        "Batchery-Event-Id": plan.event_id, "Batchery-Event-Type": plan.event_type,
        "Batchery-Delivery-Attempt": str(attempt),
    }
    timeout = get_settings().WEBHOOK_TIMEOUT_SECONDS
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment may route around the address checks
        try:
            # stream=True: the receiver's answer body is never read, however large.
            with session.post(plan.url, data=plan.body, headers=headers, timeout=(timeout, timeout),
                              allow_redirects=False, stream=True) as response:
                code = response.status_code
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
    return code, (None if 200 <= code < 300 else f"HTTP {code}")


def _record(plan: Plan, attempt: int, status_code, error, outcome: str) -> str:
    """Store the attempt (once, even if this task is redelivered) and count its outcome."""
    with session_scope() as session:
        insert_ignoring_duplicates(session, WebhookDelivery, [{
            "event_id": plan.event_id, "type": plan.event_type, "namespace": plan.namespace, "target": plan.target,
            "webhook_id": None if plan.target == BATCH_TARGET else plan.target, "url": plan.url,
            "attempt": attempt, "status_code": status_code, "outcome": outcome, "error": error, "at": utcnow(),
        }])
    try:
        get_redis().hincrby(key("metrics", "webhook_deliveries"), outcome, 1)
    except RedisError:  # metrics are best effort; the database row is the record
        log.warning("could not count webhook delivery outcome %s", outcome)
    return outcome


def attempt_delivery(event_id: str, target: str, attempt: int) -> str:
    """Deliver once; returns delivered, retrying (call again after backoff_seconds), failed or dropped."""
    plan = _plan(event_id, target)
    if plan is None:
        return DROPPED
    try:
        check_url(plan.url)  # again at delivery: DNS may have changed since registration
        status_code, error = _post(plan, attempt)
    except ResolutionUnavailable as exc:  # a DNS hiccup is transient, like a refused connection
        status_code, error = None, f"resolution failed: {exc}"
    except UnsafeUrl as exc:
        return _record(plan, attempt, None, f"refused: {exc}", FAILED)
    if error is None:
        outcome = DELIVERED
    else:
        outcome = FAILED if attempt >= get_settings().WEBHOOK_MAX_ATTEMPTS else RETRYING
        log.info("webhook %s → %s attempt %s: %s (%s)", event_id, target, attempt, error, outcome)
    return _record(plan, attempt, status_code, error, outcome)
