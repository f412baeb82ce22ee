"""A slow file: the worker child working on an object named `slow-<ms>-*` sleeps that many milliseconds first.

Loaded only into test workers (`--include tests.faults.slow_worker`): a live item that outlasts its lease.
"""
import time

from app.batches import items

_work_on = items.work_on


def _work_slowly(claim, *args, **kwargs):
    """Sleep for slow files, then work as usual."""
    if claim.filename.startswith("slow-"):
        time.sleep(int(claim.filename.split("-")[1]) / 1000)
    return _work_on(claim, *args, **kwargs)


items.work_on = _work_slowly
