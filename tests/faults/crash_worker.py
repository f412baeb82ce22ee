"""A poison file: the worker child processing any object named `crash-me*` dies on the spot.

Loaded only into test workers (`--include tests.faults.crash_worker`). It wraps the step that runs after an
item was claimed, as a real crash in a C extractor would strike: the attempt is counted, then the process
is gone without a traceback, a result or an acknowledgement.
"""
import os

from app.batches import items

_work_on = items.work_on


def _work_or_die(claim, *args, **kwargs):
    """Kill this worker process for poison files; behave normally for every other file."""
    if claim.filename.startswith("crash-me"):
        os._exit(1)
    return _work_on(claim, *args, **kwargs)


items.work_on = _work_or_die
