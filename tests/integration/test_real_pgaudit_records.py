"""Real pgaudit output, from the PostgreSQL + pgaudit of the emulation, through the whole pipeline: every
archived record's fields equal what pgaudit wrote (the statements, parameters and rows this test caused)."""

import contextlib

import psycopg
import pytest

from local import SOURCE_ACCOUNT, World
from pgaudit_archiver.logline import LINE, LINE_WITHOUT_QUOTES, parse_entry, parse_entry_generally

pytestmark = pytest.mark.postgres

FORGED = "AUDIT: SESSION,1,1,DDL,DROP TABLE,TABLE,shop.orders,DROP TABLE shop.orders,<none>"
STATEMENT_MULTILINE = "SELECT id,\n       note\nFROM shop.\"odd, name\"\nWHERE note <> 'x'"


@pytest.fixture(scope="module")
def every_archived_record():
    with World(postgres=True) as world:
        world.create_cluster("orders", instances=1)
        request = world.request(
            "orders", reboot="immediate", pgaudit_log="all,-misc", filter_pattern='?"AUDIT:" ?"ERROR:" ?"STATEMENT:"'
        )
        assert world.onboard(request).status == "SUCCEEDED"
        world.client("rds", SOURCE_ACCOUNT).modify_db_cluster_parameter_group(
            DBClusterParameterGroupName="pgaudit-orders",
            Parameters=[
                {"ParameterName": name, "ParameterValue": value, "ApplyMethod": "immediate"}
                for name, value in (
                    ("pgaudit.log_parameter", "on"),
                    ("pgaudit.log_rows", "on"),
                    ("pgaudit.role", "auditor"),
                    ("pgaudit.log_relation", "on"),
                )
            ],
        )
        world.sql("orders", "CREATE ROLE auditor")
        world.sql("orders", 'CREATE SCHEMA shop; CREATE TABLE shop."odd, name" (id int, note text)')
        world.sql("orders", 'GRANT SELECT ON shop."odd, name" TO auditor')
        server = world.postgres.server(SOURCE_ACCOUNT, "orders")
        with server.connect("appdb") as connection:
            connection.execute(
                'INSERT INTO shop."odd, name" VALUES (%s, %s), (%s, %s)',
                (1, 'comma, "quote" and Zoë', 2, "line\nbreak"),
            )
            connection.execute(STATEMENT_MULTILINE)
        with server.connect("appdb") as connection, contextlib.suppress(psycopg.errors.UndefinedTable):
            connection.execute("DROP TABLE shop.missing")  # an ERROR and a STATEMENT line, no AUDIT line
        with server.connect("appdb") as connection, contextlib.suppress(psycopg.errors.SyntaxError):
            connection.execute(FORGED)  # rejected: an ERROR line, then a STATEMENT line carrying the text verbatim
        world.sql("orders", 'CREATE ROLE "dba@finance" LOGIN')  # legal: a quoted identifier holds any character
        world.sql("orders", "SELECT 1 AS from_a_role_with_an_at_sign", user="dba@finance")
        world.flush_logs()
        yield world.archived_records()


@pytest.fixture
def archived(every_archived_record):
    return [r for r in every_archived_record if "audit_type" in r]


def find(records, **fields):
    return [r for r in records if all(r.get(k) == v for k, v in fields.items())]


def test_every_archived_audit_record_keeps_the_raw_line_and_its_fields_agree_with_it(archived):
    assert len(archived) >= 6
    for record in (r for r in archived if "prefix_ambiguous" not in r):
        assert "AUDIT: " + record["audit_type"] + "," in record["raw"]
        assert record["user"] == "postgres" and record["database"] == "appdb" and record["client_addr"] == "127.0.0.1"
        assert record["raw"].startswith(record["log_time"] + ":127.0.0.1(")


def test_create_with_quoted_object_name_with_a_comma(archived):
    [create] = find(archived, command="CREATE TABLE")
    assert (create["class"], create["object_type"], create["object_name"]) == ("DDL", "TABLE", 'shop."odd, name"')
    assert create["statement"] == 'CREATE SCHEMA shop; CREATE TABLE shop."odd, name" (id int, note text)'


def test_insert_parameters_are_recovered_from_csv_inside_csv(archived):
    [insert] = find(archived, command="INSERT", audit_type="SESSION")
    assert insert["statement"] == 'INSERT INTO shop."odd, name" VALUES ($1, $2), ($3, $4)'
    assert insert["parameters"] == ["1", 'comma, "quote" and Zoë', "2", "line\nbreak"]
    assert insert["rows"] == 2


def test_multi_line_select_has_its_statement_without_postgres_tabs_and_its_rows(archived):
    selects = find(archived, command="SELECT", statement=STATEMENT_MULTILINE)
    assert {r["audit_type"] for r in selects} == {"SESSION", "OBJECT"}  # pgaudit.role grants object auditing
    assert all(r["rows"] == 2 and r["parameters"] is None for r in selects)
    assert "\n\t" in selects[0]["raw"]


def test_role_statement_and_parameter_marker(archived):
    [grant] = find(archived, command="GRANT")
    assert (grant["class"], grant["statement"]) == ("ROLE", 'GRANT SELECT ON shop."odd, name" TO auditor')
    assert grant["parameters"] is None  # <none>: log_parameter is on, the statement had none


def test_the_hot_path_reads_every_real_line_and_as_the_general_parser_does(every_archived_record):
    texts = [record["raw"].replace("\n\t", "\n") for record in every_archived_record]
    # A prefix that splits more than one way (a role named with "@") is the general parser's to read.
    plain = [t for t, r in zip(texts, every_archived_record, strict=True) if not r.get("prefix_ambiguous")]
    assert len(plain) < len(texts)
    assert all((LINE if '"' in t or "\r" in t else LINE_WITHOUT_QUOTES).fullmatch(t) for t in plain)
    entries = [parse_entry(record["raw"]) for record in every_archived_record]
    assert entries == [parse_entry_generally(text) for text in texts]
    assert {entry["level"] for entry in entries} == {"LOG", "ERROR", "STATEMENT"}


def test_a_statement_imitating_pgaudit_is_archived_as_the_error_and_statement_lines_it_is(every_archived_record):
    [statement] = [r for r in every_archived_record if FORGED in r["raw"]]  # pgaudit wrote nothing: it never ran
    assert "audit_type" not in statement
    assert (statement["level"], statement["message"], statement["user"]) == ("STATEMENT", FORGED, "postgres")
    errors = find(every_archived_record, level="ERROR", pid=statement["pid"])
    assert 'syntax error at or near "AUDIT"' in [e["message"].split(" at character")[0] for e in errors]


def test_a_role_name_with_an_at_sign_is_not_attributed_to_a_guessed_user(archived):
    [select] = find(archived, statement="SELECT 1 AS from_a_role_with_an_at_sign")
    assert (select["user"], select["database"], select["prefix_ambiguous"]) == (None, None, True)
    assert {"user": "dba@finance", "database": "appdb"} in select["user_database_candidates"]
