"""Packs of small files: one task, one claim transaction and one store transaction for many items.

Each file keeps its own fate inside its pack (claim, attempts, status, typed error, history). Files a
dead delivery of the pack left PROCESSING are not worked on again here: the caller sends them back one
by one, so a file that kills its worker is isolated and quarantined alone.
"""
import math
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from app.settings import get_settings
from app.db import session_scope
from app.models import BatchItem, StoredObject
from app.batches import items, lease
from app.batches.outcomes import timed_out
from app.batches.store import store_outcomes
from app.batches.claims import claim_pack

# Kinds whose extraction is slow whatever their size: each keeps a task (and a time limit) of its own.
SOLO_MEDIA = ("application/pdf", "audio/", "video/")
MIN_PACKS = 8  # a small batch is still spread over this many tasks, so every worker process gets some


@dataclass
class Plan:
    """How a batch's items go out: packs of small files, and files that run alone."""

    packs: list[list[int]] = field(default_factory=list)
    solo: list[int] = field(default_factory=list)


def plan_work(item_ids: list[int]) -> Plan:
    """Split items into packs by count and bytes (PACK_MAX_ITEMS, PACK_MAX_BYTES); large or slow files run alone."""
    settings = get_settings()
    with session_scope() as session:
        sizes = {}
        for start in range(0, len(item_ids), 5000):
            sizes.update({row.id: row for row in session.execute(
                select(BatchItem.id, BatchItem.media_type, StoredObject.size_bytes)
                .outerjoin(StoredObject, StoredObject.id == BatchItem.object_id)
                .where(BatchItem.id.in_(item_ids[start:start + 5000])))})
    plan, small = Plan(), []
    for item_id in item_ids:
        row = sizes.get(item_id)
        size = (row.size_bytes or 0) if row else 0
        if row is None or size > settings.PACK_MAX_FILE_BYTES or (row.media_type or "").startswith(SOLO_MEDIA):
            plan.solo.append(item_id)
        else:
            small.append((item_id, size))
    per_pack = max(1, min(settings.PACK_MAX_ITEMS, math.ceil(len(small) / MIN_PACKS)))
    pack, pack_bytes = [], 0
    for item_id, size in small:
        if pack and (len(pack) >= per_pack or pack_bytes + size > settings.PACK_MAX_BYTES):
            plan.packs.append(pack)
            pack, pack_bytes = [], 0
        pack.append(item_id)
        pack_bytes += size
    if pack:
        plan.packs.append(pack)
    plan.solo += [p[0] for p in plan.packs if len(p) == 1]  # a pack of one is just a task
    plan.packs = [p for p in plan.packs if len(p) > 1]
    return plan


@dataclass
class PackResult:
    """Each item's status after the pack, and the items to send again one by one."""

    statuses: dict[int, str] = field(default_factory=dict)
    handoff: list[int] = field(default_factory=list)

    def summary(self) -> dict:
        """A tiny task result: how many items ended in each status, and how many were handed off."""
        counts = {}
        for status in self.statuses.values():
            counts[status] = counts.get(status, 0) + 1
        return {"statuses": counts, "handed_off": len(self.handoff)}


def process_pack(batch_id: str, item_ids: list[int], namespace: str, timeout_errors: tuple = (),
                 deadline: float | None = None) -> PackResult:
    """Claim the pack, work on each file, store every outcome at once; transient or late files are handed off."""
    taken = claim_pack(batch_id, item_ids, namespace)
    result = PackResult(statuses=dict(taken.settled), handoff=list(taken.held))
    outcomes = []
    with lease.kept([c.item_id for c in taken.claims]):
        for index, claim in enumerate(taken.claims):
            if deadline is not None and time.monotonic() > deadline:
                result.handoff += [c.item_id for c in taken.claims[index:]]
                break
            try:
                outcomes.append(items.work_on(claim, timeout_errors, deadline))
            except timeout_errors:
                outcomes.append(timed_out(claim))
                result.handoff += [c.item_id for c in taken.claims[index + 1:]]
                break
            except items.TRANSIENT_ERRORS:
                result.handoff.append(claim.item_id)  # its own task retries it with backoff
        try:
            result.statuses.update(store_outcomes(outcomes))
        except (*items.TRANSIENT_ERRORS, *timeout_errors):
            result.handoff += [o.claim.item_id for o in outcomes]
    items.release_originals(taken.claims, result.statuses)
    return result
