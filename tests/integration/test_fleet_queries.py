"""The fleet's saved queries (AWS::Athena::NamedQuery in template.yaml), run with DuckDB over the fleet table as the
template defines it, on an emulated archive of three accounts and two kinds of database (Aurora clusters and DB
instances): the fleet-wide ones name no database and still find every source's records; the per-database one reads
only its database's objects."""

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from local.template import ARCHIVE_TEMPLATE, load_template
from pgaudit_archiver.kinds import DatabaseKind
from pgaudit_archiver.logline import entry_record
from pgaudit_archiver.models import INSTANCE_KEY_PREFIX, Source
from pgaudit_archiver.naming import log_group_name
from tests.integration.test_athena_queries import glue_view_sql

AURORA_CLUSTER, DB_INSTANCE = DatabaseKind.AURORA_CLUSTER, DatabaseKind.DB_INSTANCE


def archive_source_key(kind: DatabaseKind, database_id: str) -> str:
    """The `cluster=` value of a database's archive prefix (pgaudit/account=/region=/cluster=/date=/): the product's
    Source.key, `instance--<id>` for a DB instance."""
    return Source(account_id="111111111111", region="eu-west-1", cluster_id=database_id, kind=kind).key


def log_group_of(kind: DatabaseKind, database_id: str) -> str:
    return log_group_name(database_id, kind)


# (account, region, kind, database identifier): orders-db is a cluster in two accounts and also a DB instance in one
DATABASES = [
    ("111111111111", "eu-west-1", AURORA_CLUSTER, "orders-db"),
    ("111111111111", "eu-west-1", AURORA_CLUSTER, "billing-db"),
    ("222222222222", "eu-west-1", AURORA_CLUSTER, "orders-db"),
    ("222222222222", "eu-west-1", DB_INSTANCE, "orders-db"),
    ("222222222222", "us-east-1", AURORA_CLUSTER, "ledger-db"),
    ("333333333333", "eu-west-1", DB_INSTANCE, "users-db"),
    ("333333333333", "eu-west-1", AURORA_CLUSTER, "audit-db"),
]
# (account, region, cluster partition value): what the queries return of each source
SOURCES = [(account, region, archive_source_key(kind, name)) for account, region, kind, name in DATABASES]
RESOURCES = load_template(ARCHIVE_TEMPLATE)["Resources"]


def saved_query(logical_id: str) -> str:
    return RESOURCES[logical_id]["Properties"]["QueryString"]


def lines_of(key: str, day: datetime) -> list[str]:
    """pgaudit lines as RDS writes them (log_line_prefix %t:%r:%u@%d:[%p]:)."""
    t = day.strftime("%Y-%m-%d %H:%M:%S UTC")
    database = key.removeprefix(INSTANCE_KEY_PREFIX).split("-", maxsplit=1)[0]
    prefix = f"{t}:10.0.0.5(50000):app@{database}:[4242]:LOG:  AUDIT: SESSION"
    return [
        f"{prefix},1,1,DDL,CREATE TABLE,TABLE,public.t_{key.replace('-', '_')},CREATE TABLE t (id int),<none>",
        f"{prefix},2,1,WRITE,INSERT,TABLE,public.t,INSERT INTO t VALUES (1),<none>",
        f"{t}:10.0.0.6(50001):admin@postgres:[4243]:LOG:  AUDIT: SESSION,1,1,ROLE,GRANT,,,GRANT r TO app,<none>",
    ]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("archive")
    today = datetime.now(tz=UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    # in range: today and 3 days ago; out of range: 30 days ago (the fleet queries look back 7 days)
    for day in (today, today - timedelta(days=3), today - timedelta(days=30)):
        for account, region, kind, name in DATABASES:
            key = archive_source_key(kind, name)
            # the log stream is the instance's identifier: an Aurora cluster's writer, or the DB instance itself
            stream = f"{name}-1" if kind == AURORA_CLUSTER else name
            records = []
            for index, line in enumerate(lines_of(key, day)):
                record = entry_record(line, str(index), day.isoformat().replace("+00:00", "Z"), int(day.timestamp()))
                record.pop("account")
                records.append({"instance": stream, "log_group": log_group_of(kind, name)} | record)
            path = folder / f"pgaudit/account={account}/region={region}/cluster={key}/date={day:%Y-%m-%d}/o.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode()))
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
    assert not any(name in query or account in query for account, _, _, name in DATABASES)
    assert RESOURCES[logical_id]["Properties"]["WorkGroup"] == {"Ref": "ArchiveWorkGroup"}


def test_ddl_anywhere_finds_every_source_of_the_last_7_days_clusters_and_instances(fleet):
    rows = fleet.execute(saved_query("DdlAnywhereNamedQuery")).fetchall()
    assert sorted({(r[1], r[2], r[3]) for r in rows}) == sorted(SOURCES)
    assert {r[1] for r in rows} == {"111111111111", "222222222222", "333333333333"}
    assert ("222222222222", "eu-west-1", "instance--orders-db") in {(r[1], r[2], r[3]) for r in rows}
    assert ("333333333333", "eu-west-1", "instance--users-db") in {(r[1], r[2], r[3]) for r in rows}
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
    # orders-db is a cluster in two accounts and a DB instance in 222222222222: only that account's cluster is read
    query = saved_query("OneDatabaseNamedQuery").replace("111122223333", "222222222222")
    rows = fleet.execute(query).fetchall()
    assert len(rows) == 2 * 3  # two days in range, three lines each
    assert {r[2] for r in rows} == {"orders", "postgres"}
    created = fleet.execute(query.replace("SELECT ", "SELECT object_name, ", 1)).fetchall()
    assert {r[0] for r in created if r[0] and r[0].startswith("public.t_")} == {"public.t_orders_db"}


def test_one_database_query_of_a_db_instance_reads_only_its_objects(fleet):
    instance = archive_source_key(DB_INSTANCE, "orders-db")
    query = saved_query("OneDatabaseNamedQuery").replace("111122223333", "222222222222")
    query = query.replace("cluster = 'orders-db'", f"cluster = '{instance}'")
    rows = fleet.execute(query.replace("SELECT ", "SELECT object_name, ", 1)).fetchall()
    assert len(rows) == 2 * 3
    assert {r[0] for r in rows if r[0] and r[0].startswith("public.t_")} == {"public.t_instance__orders_db"}
