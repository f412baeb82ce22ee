"""Tasks carry their batch's namespace; a task naming another namespace touches nothing."""
from app.batches import lifecycle
from tests.helpers import new_batch, text_objects


def test_dispatch_carries_the_namespace_and_a_mismatch_is_ignored(client, dispatched):
    ids = text_objects(client, 2)
    batch = new_batch(client, ids)
    task_id = client.post(f"/v1/batches/{batch['batch_id']}/submit").get_json()["task_id"]
    assert dispatched == [(batch["batch_id"], "default", task_id)]
    assert lifecycle.start_processing(batch["batch_id"], "someone-else").item_ids == ()
    assert client.get(f"/v1/batches/{batch['batch_id']}").get_json()["status"] == "QUEUED"
    fanout = lifecycle.start_processing(batch["batch_id"], "default")
    assert len(fanout.item_ids) == 2 and fanout.namespace == "default"
    assert lifecycle.finalize_batch(batch["batch_id"], "someone-else").status is None
