import pytest

from pgaudit_archiver.logline import parse_entry

PREFIX = "2026-11-25 10:00:02 UTC:10.0.0.5(57617):app@orders:[1703]:LOG:  "


def audit(payload: str, prefix: str = PREFIX) -> dict:
    return parse_entry(prefix + "AUDIT: " + payload)


def test_prefix_fields_are_parsed():
    entry = audit("SESSION,1,1,READ,SELECT,,,select 1,<not logged>")
    assert {k: entry[k] for k in ("log_time", "client_addr", "client_port", "user", "database", "pid", "level")} == {
        "log_time": "2026-11-25 10:00:02 UTC",
        "client_addr": "10.0.0.5",
        "client_port": 57617,
        "user": "app",
        "database": "orders",
        "pid": 1703,
        "level": "LOG",
    }


@pytest.mark.parametrize(
    ("remote", "addr", "port"),
    [
        ("2001:db8::17(41234)", "2001:db8::17", 41234),
        ("[local]", "[local]", None),  # a Unix socket, told apart from a background process
        ("", None, None),
        ("::1(5432)", "::1", 5432),
    ],
)
def test_client_address_forms_including_ipv6(remote, addr, port):
    entry = parse_entry(
        f"2026-11-25 10:00:02 UTC:{remote}:app@orders:[1703]:LOG:  AUDIT: SESSION,1,1,MISC,SET,,,x,<none>"
    )
    assert (entry["client_addr"], entry["client_port"], entry["command"]) == (addr, port, "SET")


def test_background_process_has_empty_user_and_database():
    entry = parse_entry("2026-11-25 10:00:02 UTC::@:[42]:LOG:  checkpoint starting: time")
    assert (entry["user"], entry["database"], entry["pid"], entry["message"]) == (
        None,
        None,
        42,
        "checkpoint starting: time",
    )
    assert "audit_type" not in entry


def test_quoted_statement_with_commas_quotes_and_tab_continuations():
    entry = audit(
        'SESSION,2,1,WRITE,INSERT,TABLE,public.t,"INSERT INTO t VALUES (1, \'a ""b""\')\n\t  RETURNING id",<not logged>'
    )
    assert entry["statement"] == "INSERT INTO t VALUES (1, 'a \"b\"')\n  RETURNING id"
    assert (entry["audit_type"], entry["statement_id"], entry["substatement_id"]) == ("SESSION", 2, 1)
    assert (entry["class"], entry["command"], entry["object_type"], entry["object_name"]) == (
        "WRITE",
        "INSERT",
        "TABLE",
        "public.t",
    )
    assert entry["parameters"] is None


def test_parameters_are_csv_inside_csv():
    entry = audit('SESSION,3,1,READ,SELECT,,,"SELECT $1, $2, $3","42,""a, b"",""say """"hi"""""""')
    assert entry["parameters"] == ["42", "a, b", 'say "hi"']


def test_none_parameters_and_rows():
    entry = audit("SESSION,4,1,READ,SELECT,TABLE,public.t,select * from t,<none>,7")
    assert (entry["parameters"], entry["rows"]) == (None, 7)


def test_commands_and_object_types_with_spaces_and_names_with_quotes_and_commas():
    entry = audit(
        'OBJECT,5,1,DDL,CREATE MATERIALIZED VIEW,MATERIALIZED VIEW,"public.""odd, name""",create ...,<not logged>'
    )
    assert (entry["audit_type"], entry["command"], entry["object_type"]) == (
        "OBJECT",
        "CREATE MATERIALIZED VIEW",
        "MATERIALIZED VIEW",
    )
    assert entry["object_name"] == 'public."odd, name"'


@pytest.mark.parametrize("statement", ["<previously logged>", "ALTER ROLE app PASSWORD <REDACTED>"])
def test_markers_pass_through_as_written(statement):
    assert audit(f"SESSION,6,1,ROLE,ALTER ROLE,,,{statement},<not logged>")["statement"] == statement


def test_non_ascii_text_is_kept():
    assert audit("SESSION,7,1,WRITE,INSERT,,,insert into t values ('Zoë ✓'),<not logged>")["statement"].endswith(
        "'Zoë ✓')"
    )


def test_error_line_keeps_level_and_message_without_audit_fields():
    entry = parse_entry(PREFIX.replace("LOG:", "ERROR:") + 'relation "missing" does not exist')
    assert (entry["level"], entry["message"]) == ("ERROR", 'relation "missing" does not exist')
    assert "audit_type" not in entry


@pytest.mark.parametrize(
    "payload", ["not,csv", "SESSION,x,1,READ,SELECT,,,s,<none>", 'SESSION,1,1,READ,SELECT,,,"unterminated']
)
def test_malformed_audit_payload_is_kept_as_a_message(payload):
    entry = audit(payload)
    assert "audit_type" not in entry and entry["message"] == "AUDIT: " + payload


def test_line_without_the_rds_prefix_is_kept_as_a_message():
    assert parse_entry("something else") == {"level": None, "message": "something else"}


@pytest.mark.parametrize(
    "payload",
    [
        "SESSION,1,1,READ,SELECT,,,select 1,<not logged>",
        "OBJECT,4,2,WRITE,UPDATE,TABLE,public.t,update t set a = 1,<none>,3",
        "SESSION,9,1,READ,SELECT,TABLE,t,select $1,42",
        "SESSION,9,1,MISC,SET,,,set x = 1,<none>,",
    ],
)
def test_fast_path_for_unquoted_lines_agrees_with_the_csv_parser(payload):
    line = PREFIX + "AUDIT: " + payload
    fast = parse_entry(line)
    with_quote = parse_entry(line.replace("app@", 'a"p@'))  # a quote anywhere sends the line to the CSV parser
    fast.pop("user")
    assert with_quote.pop("user") == 'a"p'
    assert fast == with_quote


@pytest.mark.parametrize(
    "payload",
    [
        "SESSION,\u0661,1,READ,SELECT,,,s,<none>",  # ARABIC-INDIC DIGIT ONE: int() would take it
        'SESSION,1,1,READ,SELECT,,,s,"a,""b"x"',  # PARAMETER's own CSV is malformed
    ],
)
def test_audit_payload_pgaudit_cannot_have_written_is_kept_as_a_message(payload):
    entry = audit(payload)
    assert "audit_type" not in entry and entry["message"] == "AUDIT: " + payload


def test_rows_that_are_not_ascii_digits_are_null():
    assert audit("SESSION,1,1,READ,SELECT,,,s,<none>,\u00b2")["rows"] is None  # SUPERSCRIPT TWO: isdigit() is true


def test_pid_in_another_script_is_not_a_prefix():
    assert parse_entry("2026-11-25 10:00:02 UTC::@:[\u0661]:LOG:  x") == {
        "level": None,
        "message": "2026-11-25 10:00:02 UTC::@:[\u0661]:LOG:  x",
    }
