"""`batchery ingest|batches|search|collections`: the SDK from a terminal.

Exit codes: 0 done; 1 finished but some items failed, were cancelled or left out (or a file changed); 2 bad usage;
3 the API refused (its error envelope is printed); 4 the server could not be reached; 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from functools import wraps
from itertools import chain

import requests
from rich.console import Console

from app.client import display
from app.client.client import Client, write_jsonl
from app.client.ingest import FileChanged, IngestReport, ingest
from app.client.transport import ApiError

OK, ITEMS_FAILED, USAGE, API_ERROR, UNREACHABLE, INTERRUPTED = 0, 1, 2, 3, 4, 130
CLEAN = frozenset({"COMPLETED"})


def _client(args) -> Client:
    return Client(args.url, args.api_key)


def _print_json(value) -> None:
    print(json.dumps(value, indent=2, default=str))


def _exit_code_of(batches) -> int:
    """0 when every batch completed cleanly, 1 when any ended with errors, failed or was cancelled."""
    return OK if all(b["status"] in CLEAN for b in batches) else ITEMS_FAILED


def _reporting_errors(command):
    """Turn the SDK's errors into a message on stderr and the documented exit code."""

    @wraps(command)
    def run(args) -> int:
        err = Console(stderr=True)
        try:
            return command(args)
        except ApiError as exc:
            err.print(f"[red]error[/red] {exc.status} {exc.type}: {exc.message}")
            if exc.details:
                err.print(json.dumps(exc.details, default=str)[:2000], markup=False, highlight=False)
            return API_ERROR
        except (requests.ConnectionError, requests.Timeout) as exc:
            err.print(f"[red]error[/red] cannot reach {args.url}: {exc.__class__.__name__}")
            return UNREACHABLE
        except FileChanged as exc:
            err.print(f"[red]error[/red] {exc}")
            return ITEMS_FAILED
        except FileNotFoundError as exc:  # a path given to ingest
            err.print(f"[red]error[/red] {exc}")
            return USAGE
        except BrokenPipeError:  # `batchery batches results B | head`: the reader has what it wanted
            sys.stdout = open(os.devnull, "w")
            return OK
        except KeyboardInterrupt:
            err.print("Interrupted. What landed is recorded; run the same command again to continue.")
            return INTERRUPTED

    return run


@_reporting_errors
def run_ingest(args) -> int:
    """Upload a folder into a collection, submit, optionally wait and export the results."""
    console = Console(stderr=True)
    client = _client(args)
    with display.ProgressBars(console) as bars:
        report: IngestReport = ingest(client, args.paths, args.collection, bucket=args.bucket,
                                      wait=args.wait or bool(args.jsonl),
                                      submit=not args.no_submit, concurrency=args.concurrency,
                                      files_per_request=args.files_per_request, batch_objects=args.batch_size,
                                      state_path=args.state, on_progress=bars.update, poll_seconds=args.poll)
    console.print(display.ingest_summary(report))
    for batch_id in report.batch_ids:
        batch = report.batches[batch_id]
        console.print(f"{batch_id}  {batch['status']}  {batch['status_message']}", highlight=False)
    if args.jsonl:
        rows = chain.from_iterable(client.batches.export_results(b) for b in report.batch_ids)
        console.print(f"Wrote {write_jsonl(rows, args.jsonl):,} results to {args.jsonl}")
    if report.too_large:
        return ITEMS_FAILED
    return _exit_code_of(report.batches.values()) if report.finished else OK


@_reporting_errors
def batches_command(args) -> int:
    """list, show, wait, cancel, retry, results."""
    client, console = _client(args), Console()
    if args.action == "list":
        rows = list(client.batches.list(status=args.status, collection_id=args.collection, limit=args.limit))
        _print_json(rows) if args.json else console.print(display.batches_table(rows))
        return OK
    if args.action == "show":
        batch = client.batches.get(args.batch_id)
        _print_json(batch) if args.json else console.print(batch["status_message"], highlight=False)
        return OK
    if args.action == "wait":
        with display.ProgressBars(Console(stderr=True)) as bars:
            batch = client.batches.wait(args.batch_id, on_progress=lambda b: bars.update(_as_progress(b)),
                                        poll_seconds=args.poll)
        console.print(batch["status_message"], highlight=False)
        return _exit_code_of([batch])
    if args.action == "cancel":
        _print_json(client.batches.cancel(args.batch_id))
        return OK
    if args.action == "retry":
        child = client.batches.retry(args.batch_id, error_types=args.error_type,
                                     include_cancelled=not args.no_cancelled)
        if args.submit:
            client.batches.submit(child["batch_id"])
        console.print(f"{child['batch_id']}  {child['progress']['total']:,} items", highlight=False)
        return OK
    _emit_lines(client.batches.export_results(args.batch_id), args.output, "results")
    return OK


def _emit_lines(rows, output: str | None, what: str) -> None:
    """JSON lines to a file (written whole or not at all) or to stdout."""
    if output:
        Console(stderr=True).print(f"Wrote {write_jsonl(rows, output):,} {what} to {output}")
        return
    for row in rows:
        print(json.dumps(row))


def _as_progress(batch):
    """A Batch object as one 'processing' progress report."""
    from app.client.ingest import Progress

    p = batch["progress"]
    return Progress("processing", p["processed"], p["total"], p["items_per_second"], p["eta_seconds"])


@_reporting_errors
def search_command(args) -> int:
    """Search a collection."""
    hits = _client(args).collections.search(args.collection, args.query, top_k=args.top_k, mode=args.mode)
    _print_json(hits) if args.json else Console().print(display.hits_table(hits))
    return OK


@_reporting_errors
def collections_command(args) -> int:
    """list, show, create, delete, export."""
    client = _client(args)
    if args.action == "list":
        _print_json(list(client.collections.list()))
    elif args.action == "show":
        _print_json(client.collections.get(args.collection_id))
    elif args.action == "create":
        _print_json(client.collections.create(args.collection_id, args.embedder))
    elif args.action == "delete":
        client.collections.delete(args.collection_id)
    else:
        _emit_lines(client.collections.export(args.collection_id), args.output, "chunks")
    return OK


def _connection() -> argparse.ArgumentParser:
    """--url and --api-key, defaulting to BATCHERY_URL and BATCHERY_API_KEY."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--url", default=os.environ.get("BATCHERY_URL", "http://127.0.0.1:8000"),
                        help="API base URL (default: $BATCHERY_URL or http://127.0.0.1:8000)")
    parent.add_argument("--api-key", default=os.environ.get("BATCHERY_API_KEY"),
                        help="API key (default: $BATCHERY_API_KEY)")
    parent.add_argument("--json", action="store_true", help="print raw JSON instead of tables")
    return parent


def add_client_commands(commands) -> None:
    """Register the SDK-backed subcommands on the `batchery` parser."""
    common = _connection()
    run = commands.add_parser("ingest", parents=[common], help="upload a folder into a collection and submit it")
    run.add_argument("paths", nargs="+", help="files and folders (hidden entries are skipped)")
    run.add_argument("--collection", required=True)
    run.add_argument("--bucket", default="default")
    run.add_argument("--wait", action="store_true", help="wait until every batch finished")
    run.add_argument("--jsonl", help="wait, then write every item's result to this JSON-lines file")
    run.add_argument("--no-submit", action="store_true", help="leave the batches as DRAFT")
    run.add_argument("--concurrency", type=int, default=4, help="parallel upload requests (default 4)")
    run.add_argument("--files-per-request", type=int, default=100)
    run.add_argument("--batch-size", type=int, default=None, help="objects per batch (default: the server's limit)")
    run.add_argument("--state", default=None, help="state file (default: .batchery-ingest-<collection>.json in DIR)")
    run.add_argument("--poll", type=float, default=1.0, help=argparse.SUPPRESS)
    run.set_defaults(handler=run_ingest)

    batches = commands.add_parser("batches", help="list, show, wait for, cancel, retry batches; read results")
    actions = batches.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", parents=[common])
    listing.add_argument("--status")
    listing.add_argument("--collection")
    listing.add_argument("--limit", type=int, default=20)
    for name in ("show", "wait", "cancel", "retry", "results"):
        action = actions.add_parser(name, parents=[common])
        action.add_argument("batch_id")
    actions.choices["wait"].add_argument("--poll", type=float, default=1.0)
    actions.choices["retry"].add_argument("--error-type", action="append",
                                          help="retry failed items of this type (repeatable; default: all but "
                                               "format_error and corrupted_file)")
    actions.choices["retry"].add_argument("--no-cancelled", action="store_true", help="leave cancelled items out")
    actions.choices["retry"].add_argument("--submit", action="store_true", help="submit the new batch at once")
    actions.choices["results"].add_argument("-o", "--output", help="write JSON lines here instead of stdout")
    batches.set_defaults(handler=batches_command)

    search = commands.add_parser("search", parents=[common], help="search a collection")
    search.add_argument("collection")
    search.add_argument("query")
    search.add_argument("--top-k", type=int, default=10)
    search.add_argument("--mode", choices=["hybrid", "lexical", "vector"])
    search.set_defaults(handler=search_command)

    collections = commands.add_parser("collections", help="list, show, create, delete, export collections")
    actions = collections.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=[common])
    for name in ("show", "create", "delete", "export"):
        actions.add_parser(name, parents=[common]).add_argument("collection_id")
    actions.choices["create"].add_argument("--embedder")
    actions.choices["export"].add_argument("-o", "--output", help="write JSON lines here instead of stdout")
    collections.set_defaults(handler=collections_command)
