"""Log lines against pgaudit's and RDS's formats (AWS_FACTS.md): the record is what the line says, nothing is
lost, and the one-regex hot path reads every line as the general parser does."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgaudit_archiver.logline import LINE, LINE_WITHOUT_QUOTES, parse_entry, parse_entry_generally

PREFIX = "2026-11-25 10:00:02 UTC:10.0.0.5(57617):app@orders:[1703]:LOG:  "
PREFIX_FIELDS = {
    "log_time": "2026-11-25 10:00:02 UTC",
    "client_addr": "10.0.0.5",
    "client_port": 57617,
    "user": "app",
    "database": "orders",
    "pid": 1703,
    "level": "LOG",
}


def audit_fields(statement_id=1, substatement_id=1, class_="READ", command="SELECT", audit_type="SESSION", **rest):
    fields = {
        "audit_type": audit_type,
        "statement_id": statement_id,
        "substatement_id": substatement_id,
        "class": class_,
        "command": command,
        "object_type": None,
        "object_name": None,
    }
    return {**PREFIX_FIELDS, **fields, **rest}


def read_by_the_hot_path(line: str) -> bool:
    text = line.replace("\n\t", "\n")
    return (LINE if '"' in text or "\r" in text else LINE_WITHOUT_QUOTES).fullmatch(text) is not None


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("SESSION,1,1,READ,SELECT,,,select 1,<not logged>", audit_fields(statement="select 1", parameters=None)),
        (
            'OBJECT,5,1,DDL,CREATE MATERIALIZED VIEW,MATERIALIZED VIEW,"public.""odd, name""",c,<none>',
            audit_fields(
                5,
                1,
                "DDL",
                "CREATE MATERIALIZED VIEW",
                audit_type="OBJECT",
                object_type="MATERIALIZED VIEW",
                object_name='public."odd, name"',
                statement="c",
                parameters=None,
            ),
        ),
        (
            'SESSION,3,1,READ,SELECT,,,"SELECT $1, $2, $3","42,""a, b"",""say """"hi"""""""',
            audit_fields(3, statement="SELECT $1, $2, $3", parameters=["42", "a, b", 'say "hi"']),
        ),
        (  # two parameters, each NULL or ''
            'SESSION,3,1,READ,SELECT,,,"SELECT $1, $2",",""""",7',
            audit_fields(3, statement="SELECT $1, $2", parameters=["", ""], rows=7),
        ),
        (
            "SESSION,4,1,READ,SELECT,TABLE,public.t,select * from t,<none>,7",
            audit_fields(
                4, object_type="TABLE", object_name="public.t", statement="select * from t", parameters=None, rows=7
            ),
        ),
        (
            "SESSION,4,1,MISC,SET,,,set x = 1,<none>,",
            audit_fields(4, 1, "MISC", "SET", statement="set x = 1", parameters=None, rows=None),
        ),
        (  # one parameter, NULL or ''
            "SESSION,9,1,READ,SELECT,TABLE,t,select $1,",
            audit_fields(9, object_type="TABLE", object_name="t", statement="select $1", parameters=[""]),
        ),
        (
            'SESSION,2,1,WRITE,INSERT,TABLE,t,"INSERT INTO t VALUES (1, \'a ""b""\')\n\t  RETURNING id",',
            audit_fields(
                2,
                1,
                "WRITE",
                "INSERT",
                object_type="TABLE",
                object_name="t",
                statement="INSERT INTO t VALUES (1, 'a \"b\"')\n  RETURNING id",
                parameters=[""],
            ),
        ),
        (
            'SESSION,2,1,WRITE,INSERT,TABLE,t,"a\r\nb\\\\c \x01\x1f\x7f Zoë ✓ 𝄞",<not logged>',
            audit_fields(
                2,
                1,
                "WRITE",
                "INSERT",
                object_type="TABLE",
                object_name="t",
                statement="a\r\nb\\\\c \x01\x1f\x7f Zoë ✓ 𝄞",
                parameters=None,
            ),
        ),
        (
            "SESSION,6,1,ROLE,ALTER ROLE,,,ALTER ROLE app PASSWORD <REDACTED>,<not logged>",
            audit_fields(6, 1, "ROLE", "ALTER ROLE", statement="ALTER ROLE app PASSWORD <REDACTED>", parameters=None),
        ),
        ("SESSION,007,1,READ,SELECT,,,s,<none>", audit_fields(7, statement="s", parameters=None)),
    ],
)
def test_audit_line_gives_the_fields_pgaudit_wrote(payload, expected):
    line = PREFIX + "AUDIT: " + payload
    assert parse_entry(line) == expected
    assert read_by_the_hot_path(line)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            PREFIX.replace("LOG", "ERROR") + 'relation "missing" does not exist',
            {"level": "ERROR", "message": 'relation "missing" does not exist'},
        ),
        (PREFIX + "AUDIT", {"level": "LOG", "message": "AUDIT"}),
        (
            "2026-11-25 10:00:02.123 CEST:[local]:app@orders:[1703]:LOG:  connection authorized",
            {
                "log_time": "2026-11-25 10:00:02.123 CEST",
                "client_addr": "[local]",
                "client_port": None,
                "message": "connection authorized",
            },
        ),
        (
            '2026-11-25 10:00:02 UTC:::1(5432):a"p@o,d:[]:DEBUG:  x',
            {
                "client_addr": "::1",
                "client_port": 5432,
                "user": 'a"p',
                "database": "o,d",
                "pid": None,
                "level": "DEBUG",
            },
        ),
        ("2026-11-25 10:00:02 UTC::@:[42]:LOG:  ", {"user": None, "database": None, "pid": 42, "message": ""}),
        (
            PREFIX.replace("LOG", "STATEMENT") + "SELECT 1\n\tFROM t\n\t\n\t",
            {"level": "STATEMENT", "message": "SELECT 1\nFROM t\n\n"},
        ),
    ],
)
def test_other_lines_rds_writes_keep_their_prefix_and_message(line, expected):
    entry = parse_entry(line)
    assert {key: entry[key] for key in expected} == expected
    assert "audit_type" not in entry
    assert read_by_the_hot_path(line)


@pytest.mark.parametrize(
    "line",
    [
        "no prefix at all",
        "",
        PREFIX + "AUDIT: not,csv",
        PREFIX + "AUDIT: SESSION,x,1,READ,SELECT,,,s,<none>",
        PREFIX + 'AUDIT: SESSION,1,1,READ,SELECT,,,"unterminated',
        PREFIX + 'AUDIT: SESSION,1,1,READ,SELECT,,,"closed"then,<none>',
        PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,,,a,b,1,extra",
        PREFIX + "AUDIT: SESSION,\u0661,1,READ,SELECT,,,x,<none>",
        PREFIX + 'AUDIT: SESSION,1,1,READ,SELECT,,,x,"a,""b"x"',
        "2026-11-25 10:00:02 UTC:h(x):app@orders:[1703]:LOG:  x",
        "2026-11-25 10:00:02 TOOLONG:10.0.0.5(1):app@orders:[1703]:LOG:  x",
        "2026-11-25 10:00:02 UTC:10.0.0.5(1):app@orders:[\u0661]:LOG:  x",
        "2026-11-25 10:00:02 UTC:10.0.0.5(1):app@orders:[1703]:log:  x",
    ],
)
def test_lines_pgaudit_cannot_have_written_are_kept_whole_as_a_message(line):
    entry = parse_entry(line)
    assert "audit_type" not in entry
    assert line.endswith(entry["message"])
    assert entry["message"] == (line[len(PREFIX) :] if entry["level"] else line)


@pytest.mark.parametrize("rows", ["12a", "\u00b2"])
def test_rows_that_are_not_ascii_digits_are_null(rows):
    assert parse_entry(PREFIX + f"AUDIT: SESSION,1,1,READ,SELECT,,,x,<none>,{rows}")["rows"] is None


PLAIN = ["a", "b", " ", "é", "A", "1", "_", "."]
SPECIAL = [*',"@:()[]\r\n\t\\', "\x01", "✓", "𝄞", "\u0661"]
TEXT = st.text(alphabet=st.sampled_from(PLAIN * 3 + SPECIAL), max_size=8)
NOISE = st.text(alphabet=st.sampled_from(PLAIN + SPECIAL + ["\x00"]), max_size=8)


def csv_field(value: str) -> str:
    """pgaudit's append_valid_csv."""
    doubled = value.replace('"', '""')
    return f'"{doubled}"' if any(c in value for c in ',"\r\n') else value


def without(characters: str):
    return TEXT.map(lambda text: "".join(c for c in text if c not in characters))


@st.composite
def rds_entries(draw) -> tuple[str, dict]:
    """A line as RDS and pgaudit write it, and the fields the specification says it holds."""
    log_time = draw(st.sampled_from(["2026-11-25 10:00:02 UTC", "2026-11-25 10:00:02.5 CEST"]))
    client, addr, port = draw(
        st.sampled_from(
            [("10.0.0.5(57617)", "10.0.0.5", 57617), ("[local]", "[local]", None), ("", None, None),
             ("2001:db8::17(4)", "2001:db8::17", 4), ("::1(5432)", "::1", 5432)]
        )
    )  # fmt: skip
    user, database = draw(without("@:")), draw(without("@:"))  # names with `@` or `:`: test_logline_prefix.py
    pid = draw(st.sampled_from(["", "1703"]))
    level = draw(st.sampled_from(["LOG", "NOTICE", "DEBUG", "ERROR", "STATEMENT", "DETAIL"]))
    expected = {
        "log_time": log_time, "client_addr": addr, "client_port": port, "user": user or None,
        "database": database or None, "pid": int(pid) if pid else None, "level": level,
    }  # fmt: skip
    if draw(st.integers(0, 3)):
        kind = draw(st.sampled_from(["SESSION", "OBJECT"]))
        ids = draw(st.lists(st.sampled_from(["1", "42", "007"]), min_size=2, max_size=2))
        class_, command, object_type, object_name, statement = draw(st.lists(TEXT, min_size=5, max_size=5))
        if draw(st.booleans()):
            parameter, parameters = draw(st.sampled_from(["<not logged>", "<none>"])), None
        else:
            parameters = draw(st.lists(TEXT, min_size=1, max_size=3))
            parameter = csv_field(",".join(map(csv_field, parameters)))
        rows = draw(st.sampled_from([[], [""], ["7"]]))
        fields = [class_, command, object_type, object_name, statement]
        body = "AUDIT: " + ",".join([kind, *ids, *map(csv_field, fields), parameter, *rows])
        expected |= {
            "audit_type": kind, "statement_id": int(ids[0]), "substatement_id": int(ids[1]), "class": class_,
            "command": command, "object_type": object_type or None, "object_name": object_name or None,
            "statement": statement, "parameters": parameters,
        }  # fmt: skip
        if rows:
            expected["rows"] = int(rows[0]) if rows[0] else None
        if level not in ("LOG", "NOTICE", "DEBUG"):  # pgaudit writes no record at this level: text, not a record
            expected = {key: expected[key] for key in PREFIX_FIELDS} | {"message": body}
    else:
        body = draw(TEXT)
        expected["message"] = body
    line = f"{log_time}:{client}:{user}@{database}:[{pid}]:{level}:  {body}"
    return line.replace("\n", "\n\t"), expected  # PostgreSQL's continuation TAB


@given(entry=rds_entries())
def test_every_line_rds_and_pgaudit_write_gives_the_fields_it_holds(entry):
    line, expected = entry
    assert parse_entry(line) == expected


@st.composite
def broken_lines(draw) -> str:
    """RDS and pgaudit lines with one part replaced by noise or by a near miss."""
    parts = draw(rds_entries())[0].split(",")
    index = draw(st.integers(0, len(parts) - 1))
    near_misses = ["", "x", "\u0661", "\x00", '"', '"a"b', "[local](5)", "TOOLONG", "log", "1234567890123456789012"]
    parts[index] = draw(st.one_of(NOISE, st.sampled_from(near_misses)))
    return ",".join(parts)


ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]))  # a lone surrogate cannot be UTF-8 encoded


@given(line=st.one_of(broken_lines(), ANY_TEXT))
def test_any_other_line_loses_nothing_and_the_hot_path_reads_it_as_the_general_parser_does(line):
    text = line.replace("\n\t", "\n")
    entry = parse_entry(line)
    assert entry == parse_entry_generally(text)
    if "audit_type" in entry:
        assert entry["statement"] in text or entry["statement"].replace('"', '""') in text
    else:
        assert text.endswith(entry["message"])
        assert (entry["level"] is None) == (entry["message"] == text)
