"""Batches: create, add objects, submit, read, list, cancel, delete, retry, results and errors."""
from flask import Response
from flask.views import MethodView

from app.api.auth import current_namespace, resolve_namespace
from app.api.blueprint import Blueprint
from app.api.idempotency import HEADER_DOC, idempotent
from app.api.requests import form_fields, is_multipart, json_body, multipart_doc, uploaded_files
from app.errors import EmptyBatch
from app.batches import catalog, lifecycle, results
from app.notifications import webhooks
from app.progress.view import batch_health
from app.progress.counters import read_counts
from app.notifications.signing import new_webhook_secret
from schemas.batches import (AddObjectsSchema, BatchCreateSchema, BatchListArgsSchema, BatchListSchema, BatchSchema,
                             HealthSchema, RetrySchema, StateChangedSchema, StateChangeSchema, SubmitSchema,
                             SubmittedSchema)
from schemas.results import ErrorsReportSchema, ResultsArgsSchema, ResultsSchema

blp = Blueprint("batches", __name__, url_prefix="/v1/batches", description="Batches of objects to embed.")
blp.before_request(resolve_namespace)


def _creation_body():
    """The create request as (fields, uploads), from JSON or multipart."""
    if is_multipart():
        return form_fields(BatchCreateSchema(), list_fields=("object_ids",)), uploaded_files()
    return json_body(BatchCreateSchema()), []


@blp.route("")
class Batches(MethodView):
    """The namespace's batches."""

    @blp.arguments(BatchListArgsSchema, location="query")
    @blp.response(200, BatchListSchema)
    def get(self, args):
        """List batches, newest first."""
        rows, next_cursor = catalog.list_batches(current_namespace(), **args)
        return {"batches": rows, "next_cursor": next_cursor}

    @idempotent
    @blp.response(201, BatchSchema)
    @blp.doc(parameters=[HEADER_DOC], requestBody={"content": {
        "application/json": {"schema": BatchCreateSchema},
        "multipart/form-data": multipart_doc(
            required=("collection_id",), collection_id="the target collection", batch_name="",
            object_ids="comma-separated, or a JSON array", force_overwrite="true|false", webhook_url="", webhook_secret="", metadata="a JSON object",
            auto_submit="true|false", submit_at="ISO 8601 time", bucket="bucket of the uploaded files"),
    }})
    def post(self):
        """Create a batch from object ids and/or uploaded files; `auto_submit` queues it at once."""
        fields, uploads = _creation_body()
        if fields["webhook_url"]:
            webhooks.ensure_deliverable(fields["webhook_url"], "webhook_url")
        auto_submit = fields.pop("auto_submit")
        if auto_submit and not fields["object_ids"] and not uploads:  # refuse before anything is written
            raise EmptyBatch("The batch has no objects; auto_submit needs object_ids or files.")
        secret = fields.pop("webhook_secret") or (new_webhook_secret() if fields["webhook_url"] else None)
        batch = catalog.create_batch(current_namespace(), fields.pop("collection_id"), uploads=uploads,
                                     name=fields.pop("batch_name"), webhook_secret=secret, **fields)
        if auto_submit:
            lifecycle.submit_batch(current_namespace(), batch.id)  # dispatched once the submit commits
            return {**catalog.get_batch(current_namespace(), batch.id), "webhook_secret": secret}
        return {**catalog.view_batch(batch), "webhook_secret": secret}


@blp.route("/<string:batch_id>")
class BatchById(MethodView):
    """One batch."""

    @blp.response(200, BatchSchema)
    def get(self, batch_id):
        """Get a batch with live progress, status message and health."""
        return catalog.get_batch(current_namespace(), batch_id)

    @blp.response(204)
    def delete(self, batch_id):
        """Delete a DRAFT or finished batch."""
        catalog.delete_batch(current_namespace(), batch_id)


@blp.route("/<string:batch_id>/objects", methods=["POST"])
@blp.doc(requestBody={"content": {"application/json": {"schema": AddObjectsSchema},
                                   "multipart/form-data": multipart_doc()}})
@blp.response(200, BatchSchema)
def add_objects(batch_id):
    """Add objects (ids, or multipart `file` parts) to a DRAFT batch; repeats are no-ops."""
    if is_multipart():
        batch = catalog.add_objects(current_namespace(), batch_id, uploads=uploaded_files())
    else:
        batch = catalog.add_objects(current_namespace(), batch_id, **json_body(AddObjectsSchema()))
    return catalog.view_batch(batch)


@blp.route("/<string:batch_id>/submit", methods=["POST"])
@blp.arguments(SubmitSchema, required=False)
@blp.response(202, SubmittedSchema)
def submit(options, batch_id):
    """Queue a DRAFT batch for processing; repeating it returns the same task id and starts nothing new."""
    submission = lifecycle.submit_batch(current_namespace(), batch_id, **options)
    return {"batch_id": submission.batch_id, "task_id": submission.task_id, "status": submission.status}


@blp.route("/<string:batch_id>/state", methods=["PUT"])
@blp.arguments(StateChangeSchema)
@blp.response(200, StateChangedSchema)
def change_state(args, batch_id):
    """Cancel a batch: pending items end CANCELLED, finished items keep their results."""
    return lifecycle.cancel_batch(current_namespace(), batch_id)


@blp.route("/<string:batch_id>/retry", methods=["POST"])
@blp.arguments(RetrySchema, required=False)
@blp.response(201, BatchSchema)
def retry(options, batch_id):
    """New DRAFT batch of a finished batch's failed items (not format_error/corrupted_file unless named) and cancelled ones."""
    return catalog.view_batch(catalog.retry_batch(current_namespace(), batch_id, **options))


@blp.route("/<string:batch_id>/health", methods=["GET"])
@blp.response(200, HealthSchema)
def health(batch_id):
    """Why a batch is healthy, degraded or unhealthy."""
    batch = catalog.find_batch(current_namespace(), batch_id)
    verdict = batch_health(batch, read_counts(batch))
    return {"batch_id": batch.id, "health": verdict.state, "stalled_seconds": verdict.stalled_seconds,
            "reasons": verdict.reasons}


@blp.route("/<string:batch_id>/results", methods=["GET"])
@blp.arguments(ResultsArgsSchema, location="query")
@blp.response(200, ResultsSchema)
def list_results(args, batch_id):
    """Per-item results with the batch summary, in batch order."""
    return results.list_results(current_namespace(), batch_id, **args)


@blp.route("/<string:batch_id>/results.jsonl", methods=["GET"])
@blp.response(200, {"type": "string"}, content_type="application/x-ndjson",
              description="One result object per line (the fields of `results[]`), in batch order, streamed.")
def export_results(batch_id):
    """Every item's result as JSON lines, streamed (memory stays flat for any batch size)."""
    lines = results.result_lines(current_namespace(), batch_id)
    return Response(lines, mimetype="application/x-ndjson",
                    headers={"Content-Disposition": f'attachment; filename="{batch_id}-results.jsonl"'})


@blp.route("/<string:batch_id>/errors", methods=["GET"])
@blp.response(200, ErrorsReportSchema)
def list_errors(batch_id):
    """Failed items grouped by error type."""
    return results.errors_by_type(current_namespace(), batch_id)
