"""Webhook subscriptions, their delivery log, the event body they receive, and the event stream's arguments."""
from marshmallow import Schema, fields, validate

from app.models.status import EVENT_TYPES  # the domain's vocabulary (a module of constants only)
webhook_url = validate.And(validate.Length(max=2048), validate.URL(schemes={"http", "https"}, require_tld=False))


class WebhookCreateSchema(Schema):
    """Body of POST /v1/webhooks."""

    url = fields.Str(required=True, validate=webhook_url,
                     metadata={"format": "uri", "pattern": "^https?://", "description": "A public http(s) URL."})
    events = fields.List(fields.Str(validate=validate.OneOf(EVENT_TYPES)), required=True,
                         validate=validate.Length(min=1, max=len(EVENT_TYPES) * 2))
    secret = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=8, max=128))


class WebhookSchema(Schema):
    """A namespace's webhook subscription."""

    webhook_id = fields.Str(required=True, metadata={"example": "whk_01hf…"})
    url = fields.Str(required=True)
    events = fields.List(fields.Str(validate=validate.OneOf(EVENT_TYPES)), required=True)
    created_at = fields.DateTime(required=True)
    secret = fields.Str(metadata={"description": "Signing secret; only in the creation answer."})


class WebhookListSchema(Schema):
    """GET /v1/webhooks."""

    webhooks = fields.List(fields.Nested(WebhookSchema), required=True)


class DeliveryArgsSchema(Schema):
    """Query arguments of GET /v1/webhooks/{id}/deliveries."""

    event_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=64))
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


class DeliverySchema(Schema):
    """One recorded delivery attempt."""

    event_id = fields.Str(required=True)
    type = fields.Str(required=True, validate=validate.OneOf(EVENT_TYPES))
    attempt = fields.Int(required=True)
    status_code = fields.Int(allow_none=True, required=True)
    error = fields.Str(allow_none=True, required=True)
    outcome = fields.Str(validate=validate.OneOf(["delivered", "retrying", "failed"]))
    url = fields.Str()
    at = fields.DateTime(required=True)


class DeliveryListSchema(Schema):
    """GET /v1/webhooks/{id}/deliveries, newest first."""

    deliveries = fields.List(fields.Nested(DeliverySchema), required=True)


class EventStreamArgsSchema(Schema):
    """Query arguments of GET /v1/batches/{id}/events."""

    last_event_id = fields.Int(validate=validate.Range(min=0, max=2**62),
                               metadata={"description": "Resume after this event id (the Last-Event-ID header wins)."})


class EventStreamHeadersSchema(Schema):
    """Headers of GET /v1/batches/{id}/events."""

    last_event_id = fields.Int(data_key="Last-Event-ID", validate=validate.Range(min=0, max=2**62),
                               metadata={"description": "Resume after this event id (sent by EventSource on reconnect)."})
