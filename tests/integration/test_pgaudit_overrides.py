"""What silences a source without any parameter group showing it, on the real PostgreSQL behind the emulated cluster:
pgaudit.log set per database or role (ALTER DATABASE / ALTER ROLE ... SET), read by reconciliation as the owner's
database user through the Data API and reported with the RESET to run (never run by the archive); and a source's
last delivery, recorded by the transform, which makes a source that stopped delivering `silent`."""

import pytest

from functions.transform_records import app as transform_app
from local import SOURCE_ACCOUNT, World
from pgaudit_archiver.steps.liveness import DeliveryClock

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def world():
    # A new world is a new transform container: what an earlier world's transform wrote is not remembered.
    transform_app.delivery_clock = DeliveryClock()
    with World(postgres=True, parameters={"AutoRepair": "false"}) as emulated:
        emulated.create_cluster("orders", instances=1)
        assert emulated.onboard(emulated.request("orders", reboot="immediate")).status == "SUCCEEDED"
        # What docs/security.md asks of the owner once the extension exists: reading the overrides needs no more.
        emulated.sql("orders", "REVOKE rds_superuser FROM pgaudit_archiver")
        emulated.sql("orders", "CREATE ROLE app LOGIN")
        emulated.sql("orders", "CREATE ROLE reporter LOGIN")
        emulated.sql("orders", 'CREATE ROLE "Mixed Case" LOGIN')
        yield emulated


@pytest.fixture
def settings_reset(world):
    yield
    for statement in (
        "ALTER DATABASE appdb RESET pgaudit.log",
        "ALTER ROLE app RESET pgaudit.log",
        "ALTER ROLE reporter RESET pgaudit.log",
        'ALTER ROLE "Mixed Case" IN DATABASE appdb RESET pgaudit.log',
    ):
        world.sql("orders", statement)


def override_drift(world):
    assert world.reconcile("orders").status == "SUCCEEDED"
    item = world.registry_item("orders")
    return [entry for entry in item["last_verification"]["drift_details"] if entry["kind"] == "pgaudit-override"]


def test_alter_database_set_pgaudit_log_none_is_drift_with_the_reset_to_run(world, settings_reset):
    world.sql("orders", "ALTER DATABASE appdb SET pgaudit.log = 'none'")

    reset = "ALTER DATABASE appdb RESET pgaudit.log;"
    assert override_drift(world) == [
        {"kind": "pgaudit-override", "resource": "database appdb", "expected": reset, "actual": "none"}
    ]
    item = world.registry_item("orders")
    assert item["status"] == "drifted" and "repair" not in item["last_verification"]  # the owner's to reset
    assert world.sql("orders", "SELECT count(*) FROM pg_db_role_setting WHERE setconfig::text LIKE '%pgaudit%'") == [
        (1,)
    ]


def test_alter_role_set_below_the_sources_classes_is_drift_per_role_and_database(world, settings_reset):
    world.sql("orders", "ALTER ROLE app SET pgaudit.log = 'none'")
    world.sql("orders", "ALTER ROLE \"Mixed Case\" IN DATABASE appdb SET pgaudit.log = 'ddl'")  # lacks role,write

    drift = override_drift(world)

    assert {(entry["resource"], entry["expected"], entry["actual"]) for entry in drift} == {
        ('role "Mixed Case" in database appdb', 'ALTER ROLE "Mixed Case" IN DATABASE appdb RESET pgaudit.log;', "ddl"),
        ("role app", "ALTER ROLE app RESET pgaudit.log;", "none"),
    }
    for entry in drift:  # the RESET printed is the one to run: it removes the setting
        world.sql("orders", entry["expected"])
    assert world.sql("orders", "SELECT count(*) FROM pg_db_role_setting WHERE setconfig::text LIKE '%pgaudit%'") == [
        (0,)
    ]


def test_an_override_auditing_at_least_the_sources_classes_is_not_reported(world, settings_reset):
    world.sql("orders", "ALTER ROLE reporter SET pgaudit.log = 'all'")
    world.sql("orders", "ALTER DATABASE appdb SET pgaudit.log = 'write, role, ddl, read'")

    assert override_drift(world) == []
    item = world.registry_item("orders")
    assert "pgaudit_overrides_not_checked" not in item["last_verification"]


def test_the_override_takes_effect_in_the_database_so_its_audit_lines_are_gone(world, settings_reset):
    # what the drift is about: the session's pgaudit.log is the role's, not the parameter group's
    world.sql("orders", "ALTER ROLE app SET pgaudit.log = 'none'")

    assert world.sql("orders", "SHOW pgaudit.log", user="app") == [("none",)]


def set_registry_times(world, **times):
    key = {"source_id": {"S": f"{SOURCE_ACCOUNT}#{world.region}#orders"}}
    names = {f"#n{i}": name for i, name in enumerate(times)}
    values = {f":v{i}": {"S": value} for i, value in enumerate(times.values())}
    world.client("dynamodb").update_item(
        TableName=world.resources["RegistryTable"], Key=key, ExpressionAttributeNames=names,
        UpdateExpression="SET " + ", ".join(f"#n{i} = :v{i}" for i in range(len(times))),
        ExpressionAttributeValues=values,
    )  # fmt: skip


def test_a_delivered_audit_record_is_the_sources_last_delivery_written_once_per_interval(world):
    world.sql("orders", "CREATE TABLE first_delivery (id int)")
    world.flush_logs()
    first = world.registry_item("orders")["last_delivery"]
    assert first >= world.registry_item("orders")["created_at"]

    world.sql("orders", "CREATE TABLE second_delivery (id int)")
    world.flush_logs()

    assert world.registry_item("orders")["last_delivery"] == first  # within the interval: no second write


def test_a_source_that_delivered_nothing_for_longer_than_silent_after_is_silent_and_left_to_its_owner(
    world, settings_reset
):
    world.sql("orders", "ALTER DATABASE appdb SET pgaudit.log = 'none'")  # one way to fall silent
    set_registry_times(world, last_delivery="2026-01-01T00:00:00+00:00")

    execution = world.reconcile("orders")

    item = world.registry_item("orders")
    kinds = {entry["kind"] for entry in item["last_verification"]["drift_details"]}
    assert kinds == {"silent", "pgaudit-override"}
    [silent] = [entry for entry in item["last_verification"]["drift"] if entry.startswith("no audit record")]
    assert silent == (
        "no audit record from orders reached the archive within 1440 minutes: the last at 2026-01-01T00:00:00+00:00;"
        " no delivery canary arrived to tell an idle database from a silent one"
    )
    assert item["status"] == "drifted"
    assert execution.output["silent"] == 1


def test_a_stopped_database_is_not_silent(world):
    set_registry_times(world, last_delivery="2026-01-01T00:00:00+00:00")
    rds = world.client("rds", SOURCE_ACCOUNT)
    rds.stop_db_cluster(DBClusterIdentifier="orders")
    assert rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]["Status"] == "stopped"

    world.reconcile("orders")

    item = world.registry_item("orders")
    rds.start_db_cluster(DBClusterIdentifier="orders")
    assert "silent" not in {entry["kind"] for entry in item["last_verification"]["drift_details"]}
