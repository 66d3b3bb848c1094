"""`make demo`, the main job, as a user runs it: a fresh process with no test settings in its environment."""

import contextlib
import gzip
import io
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import duckdb
import pytest

from local.demo import LABELS, _states_table, run_demo
from local.template import ARCHIVE_TEMPLATE, ROOT, load_template
from local.world import Execution, World
from tests.integration.test_athena_queries import table_view_sql

pytestmark = pytest.mark.postgres

# What each step's function changes or reads, by the account it is in: the cluster, its parameter groups, its log
# group (subscription filters go on the sender's log group) and the owner's secret are in the source account; the
# delivery stream, the destination and its role are in the archive account (a CloudWatch Logs destination is created
# in the receiving account), as is the registry.
SOURCE_STATES = {"Validate Request", "Configure Parameter Group", "Reboot Instances", "Create Extension",
                 "Enable Log Export", "Ensure Subscription Filter"}  # fmt: skip
ARCHIVE_STATES = {"Register Execution", "Ensure Delivery Stream", "Check Delivery Stream", "Ensure Destination Role",
                  "Ensure Destination", "Summarize Onboarding"}  # fmt: skip


@pytest.fixture(scope="module")
def demo():
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("POWERTOOLS_", "AWS_"))}
    finished = subprocess.run(
        [sys.executable, "-m", "local", "demo", "--json"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    return json.loads(finished.stdout)


@pytest.fixture(scope="module")
def other_kinds():
    """The demo of a DB instance and of a Multi-AZ DB cluster, in one world (each is a source of its own)."""
    documents = {}
    with World(postgres=True) as world:
        for kind in ("db-instance", "multi-az-cluster"):
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                code = run_demo(True, kind, world)
            # The document is the last thing printed (the functions' logs, in this process, come before it).
            text = printed.getvalue()
            documents[kind] = json.loads(text[text.rindex('{\n  "ok"') :])
            assert code == 0, json.dumps(documents[kind], indent=1, default=str)[-3000:]
    return documents


@pytest.mark.parametrize("kind", ["db-instance", "multi-az-cluster"])
def test_demo_of_a_kind_without_the_data_api_has_the_owner_run_the_sql_and_verifies_delivery(other_kinds, kind):
    demo = other_kinds[kind]
    key = "instance--orders-db" if kind == "db-instance" else "orders-db"
    assert demo["ok"] is True
    assert demo["database"] == {"kind": kind, "identifier": "orders-db", "key": key}
    assert demo["execution"]["status"] == "SUCCEEDED"
    extension = demo["execution"]["output"]["extension"]
    # No Data API: onboarding asks the owner for the SQL, the demo (as the owner) runs exactly that.
    assert extension["status"] == "manual" and extension["verification"]
    assert demo["owner_ran"] == [extension["sql"]]
    assert not demo["secret_reads"]  # no database user to read, and never the master user's secret
    records = demo["archived_records"]
    assert {record["cluster"] for record in records} == {key}
    assert {record["source_kind"] for record in records} == {kind}
    assert [record["statement"] for record in records if record["by_owner"]] == [extension["sql"]]
    # pgaudit names a DDL statement's object only with its extension: the owner's SQL took effect.
    create_table = next(record for record in records if record["command"] == "CREATE TABLE")
    assert (create_table["object_type"], create_table["object_name"]) == ("TABLE", "shop.orders")
    verification = demo["verification"]
    assert verification["seen"] is True
    assert verification["reconciliation"]["checked"] == 1 and verification["reconciliation"]["drifted"] == 0
    assert verification["last_delivery"] and verification["status"] == "active"
    assert demo["rerun"]["execution"]["status"] == "SUCCEEDED"
    assert demo["rerun"]["calls"]["source"]["mutating"] == demo["rerun"]["calls"]["archive"]["mutating"] == 0
    assert demo["where_to_look"]["archive"]["prefix"].endswith(f"/cluster={key}/")
    assert demo["where_to_look"]["registry_item"]["key"] == {"source_id": {"S": f"111122223333#eu-west-1#{key}"}}
    log_group = demo["where_to_look"]["log_groups"]["audit"]["name"]
    assert log_group == f"/aws/rds/{'instance' if kind == 'db-instance' else 'cluster'}/orders-db/postgresql"


def test_demo_onboards_and_archives_what_the_database_audited(demo):
    assert demo["ok"] is True
    assert demo["execution"]["status"] == "SUCCEEDED"
    assert any(record.get("audit_type") == "SESSION" for record in demo["archived_records"])
    assert demo["rerun"]["calls"]["source"]["mutating"] == demo["rerun"]["calls"]["archive"]["mutating"] == 0


def test_demo_states_name_the_account_each_state_acts_in(demo):
    archive, source = demo["accounts"]["archive"], demo["accounts"]["source"]
    tasks = {state["name"]: state["account"] for state in demo["execution"]["states"] if state["type"] == "Task"}
    assert {name for name, account in tasks.items() if account == source} == SOURCE_STATES
    assert {name for name, account in tasks.items() if account == archive} == ARCHIVE_STATES
    # Choice, Wait, Pass and Succeed make no AWS call: they run in the state machine, in the archive account.
    flow_states = [state for state in demo["execution"]["states"] if state["type"] != "Task"]
    assert flow_states
    assert all(state["account"] == archive for state in flow_states)


def test_demo_states_table_has_an_account_column():
    world = SimpleNamespace(archive_account="123456789012", source_accounts=("111122223333",))
    states = [
        {"name": name, "type": "Task", "status": "Succeeded", "duration_ms": 5, "account": account}
        for name, account in (("Ensure Destination", "123456789012"), ("Enable Log Export", "111122223333"))
    ]
    execution = Execution(arn="arn", status="SUCCEEDED", output={}, error=None, cause=None, history=lambda: states)

    header, destination, log_export = _states_table(world, execution)

    assert "Account" in header.split()
    assert "archive 123456789012" in destination
    assert "source 111122223333" in log_export


def test_demo_marks_the_archives_own_checks_and_only_them(demo):
    records = demo["archived_records"]
    by_archive = [record for record in records if record["by_archive"]]
    # The canary's SELECT and the check for the extension, both run by the archive through the Data API.
    assert any("pgaudit-archiver canary " + demo["canary"]["id"] in record["statement"] for record in by_archive)
    assert any("pg_extension" in record["statement"] for record in by_archive)
    assert all(record["user"] == "pgaudit_archiver" for record in by_archive)
    assert all(not record["by_archive"] for record in records if record["user"] != "pgaudit_archiver")


def test_demo_marks_its_own_look_at_the_database_apart_from_the_application(demo):
    by_demo = [record for record in demo["archived_records"] if record["by_demo"]]
    assert [record["statement"] for record in by_demo] == [
        "SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'"
    ]
    assert not any(record["by_archive"] for record in by_demo)


def test_demo_points_to_the_execution_in_the_step_functions_console(demo):
    execution = demo["where_to_look"]["execution"]
    region = demo["execution"]["arn"].split(":")[3]
    assert execution["arn"] == demo["execution"]["arn"]
    assert execution["account"] == demo["accounts"]["archive"]
    assert execution["console_url"] == (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/"
        + demo["execution"]["arn"]
    )


def test_demo_points_to_the_log_groups_in_their_accounts(demo):
    logs = demo["where_to_look"]["log_groups"]
    assert logs["audit"] == {
        "account": demo["accounts"]["source"],
        "name": "/aws/rds/cluster/orders-db/postgresql",  # where Aurora exports the postgresql log
        "console_url": logs["audit"]["console_url"],
    }
    assert logs["audit"]["console_url"].endswith("#logsV2:log-groups/log-group/$252Faws$252Frds$252Fcluster$252F"
                                                 "orders-db$252Fpostgresql")  # fmt: skip
    machine = load_template(ARCHIVE_TEMPLATE)["Resources"]["OnboardStateMachineLogGroup"]["Properties"]
    assert logs["workflow"]["name"] == machine["LogGroupName"]["Fn::Sub"].replace(
        "${AWS::StackName}", "pgaudit-archiver"
    )
    assert logs["workflow"]["account"] == demo["accounts"]["archive"]


def test_demo_archive_prefix_holds_the_archived_records(demo):
    prefix = demo["where_to_look"]["archive"]["prefix"]
    source = demo["accounts"]["source"]
    assert prefix.startswith("s3://") and prefix.endswith(
        f"/pgaudit/account={source}/region=eu-west-1/cluster=orders-db/"
    )
    bucket_and_path = prefix.removeprefix("s3://")
    bucket, path = bucket_and_path.split("/", 1)
    assert demo["archived_records"]
    assert all(record["_key"].startswith(path) for record in demo["archived_records"])
    assert bucket in demo["where_to_look"]["archive"]["console_url"]


def test_demo_athena_query_runs_in_the_stack_workgroup_and_shows_the_application_only(demo, tmp_path):
    athena = demo["where_to_look"]["athena"]
    workgroup = load_template(ARCHIVE_TEMPLATE)["Resources"]["ArchiveWorkGroup"]["Properties"]["Name"]
    assert athena["workgroup"] == workgroup["Fn::Sub"].replace("${AWS::StackName}", "pgaudit-archiver")
    assert f"--work-group {athena['workgroup']}" in athena["command"]
    # The archived objects as Athena reads them (GZIP JSON lines under their keys), then the demo's query on the
    # table as template.yaml defines it.
    for key in {record["_key"] for record in demo["archived_records"]}:
        lines = [
            json.dumps({k: v for k, v in record.items() if k not in LABELS})
            for record in demo["archived_records"]
            if record["_key"] == key
        ]
        target = tmp_path / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.compress("\n".join(lines).encode()))
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA pgaudit_archive")
    connection.execute(table_view_sql(f"{tmp_path}/pgaudit/**/*.gz"))

    rows = connection.execute(athena["query"]).fetchall()

    application = [record for record in demo["archived_records"] if not record["by_archive"]]
    # event_time is to the second: records of one second come in any order.
    assert sorted(row[-1] for row in rows) == sorted(record["statement"] for record in application)


def test_demo_names_the_registry_item(demo):
    registry = demo["where_to_look"]["registry_item"]
    source = demo["accounts"]["source"]
    assert registry["key"] == {"source_id": {"S": f"{source}#eu-west-1#orders-db"}}
    assert registry["account"] == demo["accounts"]["archive"]
    assert f"--table-name {registry['table']}" in registry["command"]
