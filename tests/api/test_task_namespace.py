"""Tasks carry their batch's namespace; a task naming another namespace touches nothing."""
from app.batches import lifecycle
from tests.api.helpers import new_batch, text_objects


def test_dispatch_carries_the_namespace_and_a_mismatch_is_ignored(client, monkeypatch):
    import tasks.batch

    sent = []
    monkeypatch.setattr(tasks.batch.dispatch_batch, "apply_async", lambda args, **kw: sent.append(args))
    ids = text_objects(client, 2)
    batch = new_batch(client, ids)
    client.post(f"/v1/batches/{batch['batch_id']}/submit")
    assert sent == [(batch["batch_id"], "default")]
    assert lifecycle.start_processing(batch["batch_id"], "someone-else") == []
    assert client.get(f"/v1/batches/{batch['batch_id']}").get_json()["status"] == "QUEUED"
    work = lifecycle.start_processing(batch["batch_id"], "default")
    assert len(work) == 2 and {namespace for _, namespace in work} == {"default"}
    assert lifecycle.finalize_batch(batch["batch_id"], "someone-else").status is None
