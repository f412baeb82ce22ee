"""The schedules endpoints: cron validation, next_run_at, change, disable, delete, runs, namespaces."""
from datetime import datetime, timedelta, timezone

import pytest

from tests.helpers import assert_error

BODY = {"name": "nightly", "cron": "*/5 * * * *", "bucket": "inbox", "collection_id": "docs"}


def create(client, **fields):
    """POST a schedule and return its JSON."""
    response = client.post("/v1/schedules", json={**BODY, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_returns_the_contract_fields_and_the_next_tick(client):
    before = datetime.now(timezone.utc)
    schedule = create(client)
    assert schedule["schedule_id"].startswith("sch_")
    assert {k: schedule[k] for k in BODY} == BODY and schedule["enabled"] is True
    next_run = datetime.fromisoformat(schedule["next_run_at"])
    assert before < next_run <= before + timedelta(minutes=5)
    assert next_run.minute % 5 == 0 and next_run.second == 0
    assert client.get(f"/v1/schedules/{schedule['schedule_id']}").get_json() == schedule


@pytest.mark.parametrize("cron, says", [
    ("*/5 * * *", "exactly five fields"),
    ("* * * * * *", "exactly five fields"),
    ("61 * * * *", "not valid"),
    ("*/0 * * * *", "not valid"),
    ("0 0 30 2 *", "never fires"),
    ("every five minutes", "exactly five fields"),
    ("a b c d e", "not valid"),
])
def test_a_bad_cron_is_a_clear_422(client, cron, says):
    error = assert_error(client.post("/v1/schedules", json={**BODY, "cron": cron}), 422, "validation_error")
    assert says in error["message"] and cron in error["message"]
    assert "five fields" in error["details"]["fields"]["cron"][0]
    assert client.get("/v1/schedules").get_json()["schedules"] == []


def test_aliases_and_extra_spaces_are_accepted(client):
    assert create(client, cron="@hourly")["next_run_at"].endswith(":00:00+00:00")
    assert create(client, cron="  0   3 * *  1-5 ")["cron"] == "0 3 * * 1-5"


@pytest.mark.parametrize("body", [
    {"cron": "* * * * *", "collection_id": "docs"},                      # no name
    {**BODY, "collection_id": "bad id"},
    {**BODY, "enabled": "maybe"},
    {**BODY, "surprise": 1},
    {**BODY, "cron": 5},
])
def test_invalid_bodies_name_the_field(client, body):
    error = assert_error(client.post("/v1/schedules", json=body), 422, "validation_error")
    assert error["details"]["fields"]


def test_malformed_json_is_a_400(client):
    assert_error(client.post("/v1/schedules", data="{nope", content_type="application/json"), 400, "validation_error")


def test_patch_retimes_disables_and_reenables(client):
    schedule = create(client)
    url = f"/v1/schedules/{schedule['schedule_id']}"
    renamed = client.patch(url, json={"name": "renamed"}).get_json()
    assert renamed["name"] == "renamed" and renamed["next_run_at"] == schedule["next_run_at"]
    hourly = client.patch(url, json={"cron": "0 * * * *"}).get_json()
    assert hourly["cron"] == "0 * * * *" and datetime.fromisoformat(hourly["next_run_at"]).minute == 0
    disabled = client.patch(url, json={"enabled": False}).get_json()
    assert disabled["enabled"] is False and disabled["next_run_at"] is None
    assert_error(client.patch(url, json={"cron": "nope"}), 422, "validation_error")  # validated while disabled too
    enabled = client.patch(url, json={"enabled": True}).get_json()
    assert enabled["next_run_at"] == hourly["next_run_at"]
    assert_error(client.patch(url, json={"enabled": True, "extra": 1}), 422, "validation_error")


def test_list_get_delete_and_namespaces(client):
    first, second = create(client, name="a"), create(client, name="b")
    page = client.get("/v1/schedules?limit=1").get_json()
    assert [s["schedule_id"] for s in page["schedules"]] == [second["schedule_id"]] and page["next_cursor"]
    rest = client.get(f"/v1/schedules?limit=1&cursor={page['next_cursor']}").get_json()
    assert [s["schedule_id"] for s in rest["schedules"]] == [first["schedule_id"]] and rest["next_cursor"] is None
    other = {"X-Namespace": "other"}
    assert client.get("/v1/schedules", headers=other).get_json()["schedules"] == []
    for method in ("get", "delete"):
        assert_error(getattr(client, method)(f"/v1/schedules/{first['schedule_id']}", headers=other), 404, "not_found")
    assert_error(client.get(f"/v1/schedules/{first['schedule_id']}/runs", headers=other), 404, "not_found")
    assert client.delete(f"/v1/schedules/{first['schedule_id']}").status_code == 204
    assert_error(client.get(f"/v1/schedules/{first['schedule_id']}"), 404, "not_found")
    assert_error(client.patch(f"/v1/schedules/{first['schedule_id']}", json={"name": "x"}), 404, "not_found")


def test_runs_start_empty_and_reject_forged_cursors(client):
    schedule = create(client)
    url = f"/v1/schedules/{schedule['schedule_id']}/runs"
    assert client.get(url).get_json() == {"runs": [], "next_cursor": None}
    for forged in ("abc", "eyJrIjogImEifQ", "eyJrIjogMTAwMDAwMDAwMDAwMDAwMDAwMDAwMDB9"):
        assert_error(client.get(f"{url}?cursor={forged}"), 422, "validation_error")
