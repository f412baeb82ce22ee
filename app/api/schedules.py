"""Schedules: recurring submissions of a bucket's new objects, run by Celery Beat, and their run history."""
from flask.views import MethodView

from app.api.auth import current_namespace, resolve_namespace
from app.api.blueprint import Blueprint
from app.scheduling import schedules
from schemas.common import PageArgsSchema
from schemas.schedules import (ScheduleCreateSchema, ScheduleListSchema, ScheduleRunListSchema, ScheduleSchema,
                               ScheduleUpdateSchema)

blp = Blueprint("schedules", __name__, url_prefix="/v1/schedules",
                description="Recurring submissions of a bucket's new objects (cron, UTC), run by Celery Beat.")
blp.before_request(resolve_namespace)


@blp.route("")
class Schedules(MethodView):
    """The namespace's schedules."""

    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ScheduleListSchema)
    def get(self, args):
        """List schedules, newest first."""
        rows, next_cursor = schedules.list_schedules(current_namespace(), **args)
        return {"schedules": rows, "next_cursor": next_cursor}

    @blp.arguments(ScheduleCreateSchema)
    @blp.response(201, ScheduleSchema)
    def post(self, fields):
        """Create a schedule: on each cron tick, a batch of the bucket's objects the collection does not have yet."""
        return schedules.create_schedule(current_namespace(), **fields)


@blp.route("/<string:schedule_id>")
class ScheduleById(MethodView):
    """One schedule."""

    @blp.response(200, ScheduleSchema)
    def get(self, schedule_id):
        """Get a schedule with its next run time."""
        return schedules.get_schedule(current_namespace(), schedule_id)

    @blp.arguments(ScheduleUpdateSchema)
    @blp.response(200, ScheduleSchema)
    def patch(self, fields, schedule_id):
        """Change a schedule; a new cron or re-enabling counts from now (missed ticks are not replayed)."""
        return schedules.update_schedule(current_namespace(), schedule_id, **fields)

    @blp.response(204)
    def delete(self, schedule_id):
        """Delete a schedule and its run history; the batches it created stay."""
        schedules.delete_schedule(current_namespace(), schedule_id)


@blp.route("/<string:schedule_id>/runs", methods=["GET"])
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, ScheduleRunListSchema)
def list_runs(args, schedule_id):
    """A schedule's runs, newest first: when, the batch created (null when nothing was new), or the error."""
    rows, next_cursor = schedules.list_runs(current_namespace(), schedule_id, **args)
    return {"runs": rows, "next_cursor": next_cursor}
