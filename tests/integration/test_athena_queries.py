"""The Athena queries of docs/querying.md, run with DuckDB over the table as template.yaml defines it (columns, SerDe
mapping and partition keys), on records the real pgaudit produced through the whole pipeline."""

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from local import SOURCE_ACCOUNT, World
from local.template import ARCHIVE_TEMPLATE, ROOT, load_template

pytestmark = pytest.mark.postgres

DUCKDB_TYPES = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "array<string>": "VARCHAR[]"}


def readme_queries() -> list[str]:
    text = (ROOT / "docs" / "querying.md").read_text()
    block = text.split("<!-- queries:", 1)[1].split("<!-- /queries -->", 1)[0]
    return re.findall(r"```sql\n(.*?)```", block, flags=re.DOTALL)


def table_view_sql(files: str) -> str:
    return glue_view_sql("ArchiveRecordsTable", "pgaudit_archive.records", files)


def glue_view_sql(logical_id: str, view: str, files: str) -> str:
    """A Glue table of template.yaml as a DuckDB view: JSON keys through the SerDe mapping, partitions from the
    object keys."""
    table = load_template(ARCHIVE_TEMPLATE)["Resources"][logical_id]["Properties"]["TableInput"]
    mapping = {
        column: key
        for name, key in table["StorageDescriptor"]["SerdeInfo"]["Parameters"].items()
        if name.startswith("mapping.") and (column := name.removeprefix("mapping."))
    }
    columns = table["StorageDescriptor"]["Columns"]
    json_columns = ", ".join(f"'{mapping.get(c['Name'], c['Name'])}': '{DUCKDB_TYPES[c['Type']]}'" for c in columns)
    selected = ", ".join(f'"{mapping.get(c["Name"], c["Name"])}" AS {c["Name"]}' for c in columns)
    partitions = ", ".join(
        f"regexp_extract(filename, '/{'date' if p['Name'] == 'event_date' else p['Name']}=([^/]+)/', 1) AS {p['Name']}"
        for p in table["PartitionKeys"]
    )
    return (
        f"CREATE VIEW {view} AS SELECT {selected}, {partitions} FROM "
        f"read_json('{files}', format = 'newline_delimited', columns = {{{json_columns}}}, filename = true)"
    )


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("archive")
    with World(postgres=True) as world:
        world.create_cluster("orders-db", instances=1)
        request = world.request("orders-db", reboot="immediate", filter_pattern='?"AUDIT:" ?"ERROR:" ?"STATEMENT:"')
        assert world.onboard(request).status == "SUCCEEDED"
        world.sql("orders-db", "CREATE ROLE app LOGIN; CREATE SCHEMA shop AUTHORIZATION app")
        world.sql("orders-db", "CREATE TABLE shop.orders (id int, total numeric)", user="app")
        world.sql("orders-db", "INSERT INTO shop.orders VALUES (1, 10), (2, 20)", user="app")
        world.sql("orders-db", "UPDATE shop.orders SET total = 0 WHERE id = 1", user="app")
        world.sql("orders-db", "GRANT SELECT ON shop.orders TO PUBLIC")
        with pytest.raises(Exception, match="does not exist"):
            world.sql("orders-db", "DROP TABLE shop.missing", user="app")
        world.flush_logs()
        for key, body in world.archived_objects("pgaudit/"):
            target = folder / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)  # as Athena reads it: GZIP JSON lines
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA pgaudit_archive")
    connection.execute(table_view_sql(f"{folder}/pgaudit/**/*.gz"))
    return connection


def run(database, query: str) -> list[tuple]:
    today = datetime.now(tz=UTC).strftime("%Y-%m-%d")
    return database.execute(re.sub(r"'\d{4}-\d{2}-\d{2}'", f"'{today}'", query)).fetchall()


def test_readme_has_the_five_queries():
    assert len(readme_queries()) == 5


def test_ddl_in_a_time_window(database):
    rows = run(database, readme_queries()[0])
    # one second holds them all (%t has whole seconds): compare without the order
    assert sorted((r[1], r[3], r[5]) for r in rows) == [
        ("app", "CREATE TABLE", "shop.orders"),
        ("postgres", "CREATE SCHEMA", "shop"),
    ]


def test_role_changes(database):
    rows = run(database, readme_queries()[1])
    assert sorted((r[1], r[3]) for r in rows) == [("orders-db", "CREATE ROLE"), ("orders-db", "GRANT")]


def test_writes_to_one_table(database):
    rows = run(database, readme_queries()[2])
    assert sorted(r[2] for r in rows) == ["INSERT", "UPDATE"]


def test_activity_of_one_user(database):
    rows = run(database, readme_queries()[3])
    # DROP TABLE of a missing table fails before pgaudit logs it: only its ERROR and STATEMENT lines exist
    assert sorted(r[4] for r in rows) == ["CREATE TABLE", "INSERT", "UPDATE"]
    assert {r[1] for r in rows} == {"127.0.0.1"}


def test_statements_that_failed(database):
    [(_, user, db_name, error, statement)] = run(database, readme_queries()[4])
    assert (user, db_name) == ("app", "appdb")
    assert error == 'table "missing" does not exist'
    assert statement == "DROP TABLE shop.missing"


def test_partitions_come_from_the_object_keys(database):
    [(account, region, cluster)] = database.execute(
        "SELECT DISTINCT account, region, cluster FROM pgaudit_archive.records"
    ).fetchall()
    assert (account, region, cluster) == (SOURCE_ACCOUNT, "eu-west-1", "orders-db")
