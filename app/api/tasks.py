"""Task status, answered from Redis (24 h TTL)."""
from app.api.auth import current_namespace, resolve_namespace
from app.api.blueprint import Blueprint
from app.progress.task_status import get_task
from schemas.tasks import TaskStatusSchema

blp = Blueprint("tasks", __name__, url_prefix="/v1/tasks", description="Fast task status from Redis.")
blp.before_request(resolve_namespace)


@blp.route("/<string:task_id>", methods=["GET"])
@blp.response(200, TaskStatusSchema)
def get_task_status(task_id):
    """A batch task's status and counters; after 24 h it is gone: read the batch instead."""
    return get_task(current_namespace(), task_id)
