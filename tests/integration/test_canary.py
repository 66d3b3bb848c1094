"""The delivery canary: a marked SELECT on the real PostgreSQL + pgaudit, timed until it reaches the archive."""

import pytest

from local import SOURCE_ACCOUNT, World

CANARY_REQUEST = {"reboot": "immediate", "pgaudit_log": "ddl,role,write,read", "canary": True}


@pytest.mark.postgres
def test_canary_round_trips_through_the_real_pipeline_and_its_delay_is_recorded():
    with World(postgres=True) as world:
        world.create_cluster("orders", instances=1)
        assert world.onboard(world.request("orders", **CANARY_REQUEST)).status == "SUCCEEDED"

        assert world.reconcile("orders").status == "SUCCEEDED"
        world.flush_logs()

        canary = world.registry_item("orders")["canary"]
        assert canary["arrived_at"] >= canary["sent_at"]
        assert 0 <= canary["delay_seconds"] < 60
        archived = [r for r in world.archived_records() if canary["id"] in (r.get("statement") or "")]
        assert [r["statement"] for r in archived] == [f"SELECT 'pgaudit-archiver canary {canary['id']}'"]
        assert archived[0]["class"] == "READ"
        assert archived[0]["user"] == "pgaudit_archiver"  # the owner's database user, never the master user


def test_canary_without_the_owners_database_user_is_not_sent_and_says_why():
    with World() as world:
        world.create_cluster("orders", instances=1, database_user=False)
        assert world.onboard(world.request("orders", **CANARY_REQUEST)).status == "SUCCEEDED"

        world.reconcile("orders")

        item = world.registry_item("orders")
        assert "canary" not in item
        assert item["last_verification"]["canary_not_sent"].startswith("no database user to send it as: no secret")
        assert world.calls.secret_reads == []


def test_canary_missing_after_the_bound_is_drift():
    with World(parameters={"AutoRepair": "false"}) as world:
        world.create_cluster("orders", instances=1)
        assert world.onboard(world.request("orders", **CANARY_REQUEST)).status == "SUCCEEDED"
        world.reconcile("orders")  # sends a canary; no real database here, so it never arrives
        table = world.resources["RegistryTable"]
        key = {"source_id": {"S": f"{SOURCE_ACCOUNT}#{world.region}#orders"}}
        world.client("dynamodb").update_item(
            TableName=table, Key=key, UpdateExpression="SET canary.sent_at = :old",
            ExpressionAttributeValues={":old": {"S": "2026-01-01T00:00:00.000+00:00"}},
        )  # fmt: skip

        world.reconcile("orders")

        item = world.registry_item("orders")
        assert item["status"] == "drifted"
        [late] = item["last_verification"]["drift"]
        assert "has not reached the archive after" in late


def test_canary_is_not_sent_when_pgaudit_would_not_log_it(world):
    world.create_cluster("orders", instances=1)
    request = world.request("orders", reboot="immediate", canary=True)  # default classes: ddl,role,write
    assert world.onboard(request).status == "SUCCEEDED"
    world.reconcile("orders")
    item = world.registry_item("orders")
    assert "read class" in item["last_verification"]["canary_not_sent"]
    assert "canary" not in item
