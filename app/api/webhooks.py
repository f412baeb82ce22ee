"""Webhook subscriptions of the namespace and their delivery log."""
from flask.views import MethodView

from app.api.auth import current_namespace, resolve_namespace
from app.api.blueprint import Blueprint
from app.notifications import webhooks
from schemas.webhooks import (DeliveryArgsSchema, DeliveryListSchema, WebhookCreateSchema, WebhookListSchema,
                              WebhookSchema)

blp = Blueprint("webhooks", __name__, url_prefix="/v1/webhooks",
                description="Signed event deliveries: batch.submitted, batch.completed, batch.failed, "
                            "batch.cancelled, collection.documents.written.")
blp.before_request(resolve_namespace)


@blp.route("")
class Webhooks(MethodView):
    """The namespace's subscriptions."""

    @blp.response(200, WebhookListSchema)
    def get(self):
        """List subscriptions, newest first (secrets are never shown again)."""
        return {"webhooks": webhooks.list_webhooks(current_namespace())}

    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookSchema)
    def post(self, fields):
        """Subscribe a URL to event types; the signing secret (generated when absent) is shown only here."""
        return webhooks.create_webhook(current_namespace(), **fields)


@blp.route("/<string:webhook_id>")
class WebhookById(MethodView):
    """One subscription."""

    @blp.response(200, WebhookSchema)
    def get(self, webhook_id):
        """Get a subscription."""
        return webhooks.get_webhook(current_namespace(), webhook_id)

    @blp.response(204)
    def delete(self, webhook_id):
        """Delete a subscription and its delivery log."""
        webhooks.delete_webhook(current_namespace(), webhook_id)


@blp.route("/<string:webhook_id>/deliveries", methods=["GET"])
@blp.arguments(DeliveryArgsSchema, location="query")
@blp.response(200, DeliveryListSchema)
def deliveries(args, webhook_id):
    """Every delivery attempt (event, attempt number, status code, error), newest first."""
    return {"deliveries": webhooks.list_deliveries(current_namespace(), webhook_id, **args)}
