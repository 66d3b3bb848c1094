"""The emulated Aurora cluster backed by a real PostgreSQL 15 with the real pgaudit: what onboarding does to
the database itself, and the audit lines it writes reaching the archive bucket."""

import pytest

from local import World

pytestmark = pytest.mark.postgres


@pytest.fixture
def world():
    with World(postgres=True) as emulated:
        yield emulated


def archived_audit_messages(world):
    world.flush_logs()
    return [record["raw"] for record in world.archived_records() if "audit_type" in record]


def test_immediate_onboarding_loads_pgaudit_and_archives_what_the_database_audits(world):
    world.create_cluster("orders", instances=2)
    assert world.sql("orders", "SHOW shared_preload_libraries") == [("pg_stat_statements",)]

    execution = world.onboard(world.request("orders", reboot="immediate"))

    assert execution.status == "SUCCEEDED", execution.cause
    assert world.sql("orders", "SHOW shared_preload_libraries") == [("pg_stat_statements,pgaudit",)]
    assert world.sql("orders", "SHOW pgaudit.log") == [("ddl,role,write",)]
    assert world.sql("orders", "SELECT extname FROM pg_extension WHERE extname = 'pgaudit'") == [("pgaudit",)]

    world.sql("orders", "CREATE TABLE invoices (id int, note text)")
    world.sql("orders", "INSERT INTO invoices VALUES (1, 'a, \"quoted\" note')")
    world.sql("orders", "SELECT * FROM invoices")  # the read class is not in ddl,role,write
    world.sql("orders", "CREATE ROLE reporter PASSWORD 'hunter2'")
    messages = archived_audit_messages(world)

    audited = [message.split("AUDIT: ", 1)[1] for message in messages]
    assert audited == [
        'SESSION,1,1,DDL,CREATE TABLE,TABLE,public.invoices,"CREATE TABLE invoices (id int, note text)",<not logged>',
        'SESSION,1,1,WRITE,INSERT,,,"INSERT INTO invoices VALUES (1, \'a, ""quoted"" note\')",<not logged>',
        "SESSION,1,1,ROLE,CREATE ROLE,,,CREATE ROLE reporter PASSWORD <REDACTED>,<not logged>",
    ]
    assert all(":postgres@appdb:[" in message for message in messages)  # RDS's log_line_prefix


def test_multi_line_statement_arrives_as_one_event_with_its_tab_continuations(world):
    world.create_cluster("orders", instances=1)
    assert world.onboard(world.request("orders", reboot="immediate")).status == "SUCCEEDED"

    world.sql("orders", "CREATE TABLE t (\n  id int,\n  note text\n)")

    [message] = archived_audit_messages(world)
    assert message.endswith('"CREATE TABLE t (\n\t  id int,\n\t  note text\n\t)",<not logged>')


def test_lines_that_are_not_audit_lines_are_filtered_out_by_the_subscription(world):
    world.create_cluster("orders", instances=1)
    assert world.onboard(world.request("orders", reboot="immediate")).status == "SUCCEEDED"

    with pytest.raises(Exception, match="division by zero"):
        world.sql("orders", "SELECT 1 / 0")

    assert archived_audit_messages(world) == []
    world.flush_logs()
    assert not any("division by zero" in record["raw"] for record in world.archived_records())


def test_deferred_onboarding_changes_nothing_in_the_running_database_until_the_reboot(world):
    world.create_cluster("orders", instances=1)

    execution = world.onboard(world.request("orders"))

    assert execution.output["status"] == "pending-reboot"
    assert world.sql("orders", "SHOW shared_preload_libraries") == [("pg_stat_statements",)]
    world.sql("orders", "CREATE TABLE before_reboot (id int)")
    assert archived_audit_messages(world) == []

    world.client("rds", world.source_accounts[0]).reboot_db_instance(DBInstanceIdentifier="orders-instance-1")
    world.sql("orders", "CREATE TABLE after_reboot (id int)")
    assert [m.split("AUDIT: ")[1].split(",")[4] for m in archived_audit_messages(world)] == ["CREATE TABLE"]


FORGED = "DO $$BEGIN RAISE LOG 'AUDIT: SESSION,1,1,ROLE,DROP ROLE,,,DROP ROLE auditor,<not logged>'; END$$"


def test_any_database_user_can_forge_an_audit_line_and_the_function_class_records_the_forgery(world):
    world.create_cluster("orders", instances=1)
    request = world.request("orders", reboot="immediate", pgaudit_log="ddl,role,write,function")
    assert world.onboard(request).status == "SUCCEEDED"
    world.sql("orders", "CREATE ROLE mallory LOGIN")

    world.sql("orders", FORGED, user="mallory")

    world.flush_logs()
    records = [record for record in world.archived_records() if record.get("user") == "mallory"]
    forged = [r for r in records if r.get("command") == "DROP ROLE"]
    do_block = [r for r in records if r.get("class") == "FUNCTION" and r.get("command") == "DO"]
    assert len(forged) == 1 and forged[0]["audit_type"] == "SESSION"  # indistinguishable from pgaudit's own line
    assert len(do_block) == 1 and "RAISE LOG 'AUDIT: " in do_block[0]["statement"]  # but the forgery is recorded


def test_revoke_plpgsql_leaves_no_database_user_a_do_block_to_forge_with(world):
    world.create_cluster("orders", instances=1)
    world.sql("orders", "CREATE ROLE mallory LOGIN")
    for database in ("appdb", "postgres", "template1"):  # the owner lets the archive's user revoke it
        world.sql("orders", "ALTER LANGUAGE plpgsql OWNER TO pgaudit_archiver", database=database)
    request = world.request("orders", reboot="immediate", revoke_plpgsql=True)

    execution = world.onboard(request)

    assert execution.status == "SUCCEEDED", execution.cause
    assert "revoked USAGE on plpgsql from PUBLIC in appdb" in execution.output["changes"]
    with pytest.raises(Exception, match="permission denied for language plpgsql"):
        world.sql("orders", FORGED, user="mallory")
    world.sql("orders", "DO $$BEGIN PERFORM 1; END$$")  # the master user keeps it
    assert world.onboard(request).output["changes"] == []


def test_revoke_plpgsql_by_a_user_who_does_not_own_the_language_says_where_public_keeps_it(world):
    world.create_cluster("orders", instances=1)  # the README's user: rds_superuser, not the language's owner

    execution = world.onboard(world.request("orders", reboot="immediate", revoke_plpgsql=True))

    assert execution.status == "SUCCEEDED", execution.cause
    assert "created extension pgaudit in appdb" in execution.output["changes"]
    assert execution.output["pending"] == [
        "PUBLIC keeps USAGE on plpgsql in appdb, postgres, template1: the database user may not revoke it"
    ]


def test_the_extension_is_created_as_the_owners_database_user_and_no_master_secret_is_read(world):
    world.create_cluster("orders", instances=1)

    execution = world.onboard(world.request("orders", reboot="immediate"))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["extension"]["status"] == "created"
    assert world.sql("orders", "SELECT extname FROM pg_extension WHERE extname = 'pgaudit'") == [("pgaudit",)]
    names = {arn.split(":secret:")[1][:-7] for _, arn in world.calls.secret_reads}  # "-AbCdEf": the ARN's suffix
    assert names == {"pgaudit-archiver/orders/pgaudit_archiver"}


def test_a_database_user_without_rds_superuser_cannot_create_the_extension_and_the_sql_is_reported(world):
    world.create_cluster("orders", instances=1, database_user=False)
    world.create_database_user("orders", rds_superuser=False)

    execution = world.onboard(world.request("orders", reboot="immediate"))

    assert execution.status == "SUCCEEDED", execution.cause
    extension = execution.output["extension"]
    assert (extension["status"], extension["sql"]) == ("manual", "CREATE EXTENSION IF NOT EXISTS pgaudit;")
    assert "(DatabaseErrorException)" in extension["reason"] and "permission denied" in extension["reason"]
    assert world.sql("orders", "SELECT extname FROM pg_extension WHERE extname = 'pgaudit'") == []


def test_an_extension_dropped_after_onboarding_is_drift_and_the_repair_creates_it_again(world):
    world.create_cluster("orders", instances=1)
    assert world.onboard(world.request("orders", reboot="immediate")).status == "SUCCEEDED"
    world.sql("orders", "DROP EXTENSION pgaudit")

    world.reconcile("orders")

    item = world.registry_item("orders")
    assert item["last_verification"]["drift"] == ["the pgaudit extension is missing from database appdb"]
    repair = world.wait(item["last_verification"]["repair"])
    assert repair.status == "SUCCEEDED" and repair.output["changes"] == ["created extension pgaudit in appdb"]
    assert world.sql("orders", "SELECT extname FROM pg_extension WHERE extname = 'pgaudit'") == [("pgaudit",)]


def test_an_extension_left_to_the_owner_is_not_checked_and_not_drift(world):
    world.create_cluster("orders", instances=1, database_user=False)
    assert world.onboard(world.request("orders", reboot="immediate")).status == "SUCCEEDED"

    world.reconcile("orders")

    item = world.registry_item("orders")
    assert (item["status"], item["last_verification"]["drift"]) == ("active", [])
    assert item["last_verification"]["extension_not_checked"].startswith(
        "the owner runs `CREATE EXTENSION IF NOT EXISTS pgaudit;` in appdb: no secret in account"
    )
    assert world.calls.secret_reads == []
