"""The fleet's saved queries (AWS::Athena::NamedQuery in template.yaml), run with DuckDB over the fleet table as the
template defines it, on an emulated archive of three accounts with two clusters each: the fleet-wide ones name no
database and still find every source's records; the per-database one reads only its database's objects."""

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from local.template import ARCHIVE_TEMPLATE, load_template
from pgaudit_archiver.logline import entry_record
from tests.integration.test_athena_queries import glue_view_sql

SOURCES = [
    ("111111111111", "eu-west-1", "orders-db"),
    ("111111111111", "eu-west-1", "billing-db"),
    ("222222222222", "eu-west-1", "orders-db"),
    ("222222222222", "us-east-1", "ledger-db"),
    ("333333333333", "eu-west-1", "users-db"),
    ("333333333333", "eu-west-1", "audit-db"),
]
RESOURCES = load_template(ARCHIVE_TEMPLATE)["Resources"]


def saved_query(logical_id: str) -> str:
    return RESOURCES[logical_id]["Properties"]["QueryString"]


def lines_of(cluster: str, day: datetime) -> list[str]:
    """pgaudit lines as RDS writes them (log_line_prefix %t:%r:%u@%d:[%p]:)."""
    t = day.strftime("%Y-%m-%d %H:%M:%S UTC")
    prefix = f"{t}:10.0.0.5(50000):app@{cluster.split('-', maxsplit=1)[0]}:[4242]:LOG:  AUDIT: SESSION"
    return [
        f"{prefix},1,1,DDL,CREATE TABLE,TABLE,public.t_{cluster.replace('-', '_')},CREATE TABLE t (id int),<none>",
        f"{prefix},2,1,WRITE,INSERT,TABLE,public.t,INSERT INTO t VALUES (1),<none>",
        f"{t}:10.0.0.6(50001):admin@postgres:[4243]:LOG:  AUDIT: SESSION,1,1,ROLE,GRANT,,,GRANT r TO app,<none>",
    ]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("archive")
    today = datetime.now(tz=UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    # in range: today and 3 days ago; out of range: 30 days ago (the fleet queries look back 7 days)
    for day in (today, today - timedelta(days=3), today - timedelta(days=30)):
        for account, region, cluster in SOURCES:
            records = []
            for index, line in enumerate(lines_of(cluster, day)):
                record = entry_record(line, str(index), day.isoformat().replace("+00:00", "Z"), int(day.timestamp()))
                record.pop("account")
                records.append(
                    {"instance": f"{cluster}-1", "log_group": f"/aws/rds/cluster/{cluster}/postgresql"} | record
                )
            key = folder / f"pgaudit/account={account}/region={region}/cluster={cluster}/date={day:%Y-%m-%d}/o.gz"
            key.parent.mkdir(parents=True, exist_ok=True)
            key.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode()))
    connection = duckdb.connect()
    # Athena's from_iso8601_timestamp, for the ISO 8601 UTC strings the transform writes
    connection.execute("CREATE MACRO from_iso8601_timestamp(text) AS CAST(text AS TIMESTAMPTZ)")
    connection.execute(fleet_view_sql(f"{folder}/pgaudit/**/*.gz"))
    return connection


def fleet_view_sql(files: str) -> str:
    return glue_view_sql("FleetRecordsTable", "fleet_records", files)


def test_fleet_table_has_the_records_tables_columns_and_keys():
    records = RESOURCES["ArchiveRecordsTable"]["Properties"]["TableInput"]
    fleet = RESOURCES["FleetRecordsTable"]["Properties"]["TableInput"]
    assert [c["Name"] for c in fleet["StorageDescriptor"]["Columns"]] == [
        c["Name"] for c in records["StorageDescriptor"]["Columns"]
    ]
    assert fleet["PartitionKeys"] == records["PartitionKeys"]
    assert fleet["StorageDescriptor"]["SerdeInfo"] == records["StorageDescriptor"]["SerdeInfo"]
    assert "projection.enabled" not in fleet["Parameters"]


@pytest.mark.parametrize("logical_id", ["DdlAnywhereNamedQuery", "RoleChangesNamedQuery", "UserActivityNamedQuery"])
def test_fleet_query_names_no_database(logical_id):
    query = saved_query(logical_id)
    assert all(f"{key} =" not in query and f"{key} IN" not in query for key in ("account", "region", "cluster"))
    assert RESOURCES[logical_id]["Properties"]["WorkGroup"] == {"Ref": "ArchiveWorkGroup"}


def test_ddl_anywhere_finds_every_source_of_the_last_7_days(fleet):
    rows = fleet.execute(saved_query("DdlAnywhereNamedQuery")).fetchall()
    assert sorted({(r[1], r[2], r[3]) for r in rows}) == sorted(SOURCES)
    assert len(rows) == 2 * len(SOURCES)  # today's and 3 days ago; not 30 days ago
    assert {r[6] for r in rows} == {"CREATE TABLE"}
    assert all(isinstance(r[0], datetime) for r in rows)  # event_time typed
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def test_every_role_change_in_the_fleet(fleet):
    rows = fleet.execute(saved_query("RoleChangesNamedQuery")).fetchall()
    assert {r[1] for r in rows} == {"111111111111", "222222222222", "333333333333"}
    assert {(r[4], r[6]) for r in rows} == {("admin", "GRANT")}
    assert len(rows) == 2 * len(SOURCES)


def test_one_users_activity_on_every_database(fleet):
    rows = fleet.execute(saved_query("UserActivityNamedQuery")).fetchall()
    assert sorted({(r[1], r[2], r[3]) for r in rows}) == sorted(SOURCES)
    assert {r[7] for r in rows} == {"CREATE TABLE", "INSERT"}  # app's, not admin's GRANT
    assert {r[5] for r in rows} == {"10.0.0.5"}


def test_one_database_query_reads_only_its_objects(fleet):
    # orders-db exists in two accounts: only 222222222222's, in range, is read
    query = saved_query("OneDatabaseNamedQuery").replace("111122223333", "222222222222")
    rows = fleet.execute(query).fetchall()
    assert len(rows) == 2 * 3  # two days in range, three lines each
    assert {r[2] for r in rows} == {"orders", "postgres"}
