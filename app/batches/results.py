"""Per-item results and errors of a batch, read from the database."""
import json
from collections.abc import Iterator

from sqlalchemy import select

from app.db import session_scope
from app.models import BatchItem, ItemStatus
from app.batches.catalog import load_batch
from app.pagination import keyset_page
from app.progress.counters import count_items_in_db


def describe_item(item) -> dict:
    """The contract's result entry for one item (a BatchItem, or a row of its table)."""
    error = {"type": item.error_type, "message": item.error_message} if item.status == ItemStatus.FAILED else None
    return {
        "object_id": item.object_id, "filename": item.filename, "media_type": item.media_type,
        "status": item.status, "chunks": item.chunks, "dimensions": item.dimensions, "attempts": item.attempts,
        "processing_history": item.processing_history or [], "error": error,
    }


def list_results(namespace: str, batch_id: str, status=None, limit=100, cursor=None) -> dict:
    """The batch summary and one page of item results in batch order."""
    with session_scope() as session:
        batch = load_batch(session, namespace, batch_id)
        counts = count_items_in_db(session, batch_id)
        query = select(BatchItem).where(BatchItem.batch_id == batch_id)
        if status:
            query = query.where(BatchItem.status == status)
        rows, next_cursor = keyset_page(session, query, BatchItem.id, cursor, limit, newest_first=False)
        return {
            "batch_summary": {
                "batch_id": batch.id, "status": batch.status, "total_items": counts["total"],
                "successful": counts["succeeded"], "skipped": counts["skipped"], "failed": counts["failed"],
                "cancelled": counts["cancelled"],
            },
            "results": [describe_item(i) for i in rows],
            "next_cursor": next_cursor,
        }


def result_lines(namespace: str, batch_id: str, page_size: int = 1000) -> Iterator[str]:
    """Every item's result as JSON lines in batch order; checks the batch now, streams keyset pages later."""
    # Plain rows, not ORM objects: describe_item reads the same attribute names, without identity-map costs.
    table = BatchItem.__table__
    find = select(table).where(table.c.batch_id == batch_id).order_by(table.c.id).limit(page_size)
    with session_scope() as session:
        load_batch(session, namespace, batch_id)  # unknown or foreign: a 404 before any byte streams

    def pages():
        after = 0
        while True:  # one short transaction per page: memory and locks stay flat whatever the batch's size
            with session_scope() as session:
                rows = session.execute(find.where(table.c.id > after)).all()
                if not rows:
                    return
                after = rows[-1].id
                text = "".join(json.dumps(describe_item(item), separators=(",", ":")) + "\n" for item in rows)
            yield text

    return pages()


def errors_by_type(namespace: str, batch_id: str) -> dict:
    """The batch's failed items grouped by error type."""
    with session_scope() as session:
        load_batch(session, namespace, batch_id)
        rows = session.execute(
            select(BatchItem.object_id, BatchItem.filename, BatchItem.error_type, BatchItem.error_message)
            .where(BatchItem.batch_id == batch_id, BatchItem.status == ItemStatus.FAILED).order_by(BatchItem.id)
        ).all()
    grouped: dict[str, list] = {}
    for object_id, filename, error_type, message in rows:
        grouped.setdefault(error_type or "processing_error", []).append(
            {"object_id": object_id, "filename": filename, "message": message})
    return {"batch_id": batch_id, "total_errors": len(rows), "by_type": grouped}
