"""What the CLI shows: progress bars (rich) for an ingest or a wait, and tables of batches and hits."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress as Bars, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.client.ingest import IngestReport, Progress

STAGE_TITLES = {"hashing": "Hashing files", "uploading": "Uploading", "submitting": "Submitting batches",
                "processing": "Processing"}


def _rate_text(update: Progress) -> str:
    """The server's rate and ETA, as the API reports them."""
    if update.items_per_second is None:
        return ""
    eta = f" · ETA {update.eta_seconds // 60}m {update.eta_seconds % 60:02d}s" if update.eta_seconds else ""
    return f"{update.items_per_second:g} items/s{eta}"


class ProgressBars:
    """One bar per stage, created when the stage first reports; `update` is the SDK's on_progress."""

    def __init__(self, console: Console):
        self.bars = Bars(TextColumn("{task.description:<18}"), BarColumn(), TextColumn("{task.fields[count]}"),
                         TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), console=console,
                         transient=False, refresh_per_second=8)
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self):
        self.bars.start()
        return self

    def __exit__(self, *exc):
        self.bars.stop()

    def update(self, update: Progress) -> None:
        """Move the stage's bar."""
        if update.stage not in self.tasks:
            self.tasks[update.stage] = self.bars.add_task(STAGE_TITLES.get(update.stage, update.stage),
                                                          total=update.total or None, count="", detail="")
        count = f"{update.done:,}/{update.total:,}"
        if update.stage == "uploading":
            unit, scale = ("MiB", 2**20) if update.total >= 10 * 2**20 else ("KiB", 2**10)
            count = f"{update.done / scale:,.1f}/{update.total / scale:,.1f} {unit}"
        self.bars.update(self.tasks[update.stage], completed=update.done, total=update.total or None, count=count,
                         detail=_rate_text(update))


def ingest_summary(report: IngestReport) -> Table:
    """The table printed at the end of an ingest."""
    table = Table(title="Ingest summary", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [("files found", report.files), ("uploaded now", report.uploaded),
            ("uploaded by an earlier run", report.already_uploaded),
            ("same content as another file", len(report.duplicates)), ("too large (left out)", len(report.too_large)),
            ("upload requests", report.requests), ("batches", len(report.batch_ids))]
    for name in ("succeeded", "skipped", "failed", "cancelled"):
        rows.append((f"items {name}", report.count(name)))
    for what, count in rows:
        table.add_row(what, f"{count:,}")
    return table


def batches_table(batches) -> Table:
    """A table of Batch objects (`batches show` has the full status line)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("batch_id", "status", "collection", "processed", "failed"):
        table.add_column(name, no_wrap=name in ("batch_id", "status"))
    for b in batches:
        p = b["progress"]
        table.add_row(b["batch_id"], b["status"], b["collection_id"], f"{p['processed']:,}/{p['total']:,}",
                      f"{p['failed']:,}")
    return table


def hits_table(hits) -> Table:
    """A table of search hits."""
    table = Table("score", "filename", "chunk", "text")
    for hit in hits:
        text = (hit.get("text") or "").replace("\n", " ")
        table.add_row(f"{hit['score']:.3f}", hit["filename"], str(hit["chunk_index"]), text[:100])
    return table
