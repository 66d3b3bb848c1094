"""Hostile log content: lines a database user can make PostgreSQL write (RAISE at any level, huge statements,
huge numbers, quotes and newlines, imitations of the prefix, pgaudit's markers in odd places). Whatever the
line, nothing genuine is lost: the audit record pgaudit wrote keeps its fields, any other line is kept."""

import base64
import json

import pytest

from pgaudit_archiver import transform as transform_module
from pgaudit_archiver.logline import parse_audit, parse_entry
from pgaudit_archiver.transform import transform
from tests.unit.envelopes import envelope

STREAM = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/pgaudit-111122223333-orders"
PREFIX = "2026-11-25 10:00:02 UTC:10.0.0.5(57617):app@orders:[1703]:LOG:  "
GENUINE = PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.t,select * from t,<none>,3"


class RecordedMetrics:
    def __init__(self):
        self.counts: dict[str, float] = {}

    def add_metric(self, name: str, unit: str, value: float) -> None:
        assert unit == "Count"
        self.counts[name] = self.counts.get(name, 0) + value


@pytest.fixture
def recorded(monkeypatch) -> RecordedMetrics:
    recorded = RecordedMetrics()
    monkeypatch.setattr(transform_module, "metrics", recorded)
    return recorded


def archived(messages: list[str], audit_only: bool = False) -> tuple[str, list[dict]]:
    """The envelope's result and its archived records."""
    events = [{"id": str(i), "timestamp": 1795600000000 + i, "message": m} for i, m in enumerate(messages)]
    data = envelope(events)
    event = {"deliveryStreamArn": STREAM, "records": [{"recordId": "r", "data": data}]}
    [record] = transform(event, audit_only=audit_only)["records"]
    if record["result"] != "Ok":
        return record["result"], []
    return "Ok", [json.loads(line) for line in base64.b64decode(record["data"]).splitlines()]


def assert_genuine_kept(records: list[dict]) -> None:
    genuine = [(r["statement_id"], r["statement"], r["rows"]) for r in records if r["raw"] == GENUINE]
    assert genuine == [(1, "select * from t", 3)] * 2


# 1. pgaudit.log_statement_once


@pytest.mark.parametrize("user", ["app", 'a"p'])  # the hot path and the general parser
def test_previously_logged_parameter_is_a_marker_not_a_value(user):
    line = (
        PREFIX.replace("app@", f"{user}@")
        + "AUDIT: SESSION,5,2,WRITE,INSERT,TABLE,t,<previously logged>,<previously logged>"
    )
    entry = parse_entry(line)
    assert (entry["statement"], entry["parameters"], entry["substatement_id"]) == ("<previously logged>", None, 2)


# 2. Unix sockets and background processes


def test_a_unix_socket_connection_is_told_apart_from_a_background_process():
    local = parse_entry(
        "2026-11-25 10:00:02 UTC:[local]:app@orders:[1703]:LOG:  AUDIT: SESSION,1,1,MISC,SET,,,x,<none>"
    )
    background = parse_entry("2026-11-25 10:00:02 UTC::@:[42]:LOG:  checkpoint starting: time")
    assert (local["client_addr"], local["client_port"], local["command"]) == ("[local]", None, "SET")
    assert (background["client_addr"], background["client_port"]) == (None, None)


# 3. Statements beyond csv's default field limit (131,072 characters)

HUGE = "INSERT INTO t VALUES ('" + "x, " * 120_000 + "')"  # 360 kB, quoted by pgaudit for its commas


def test_a_statement_of_several_hundred_kib_is_an_audit_record_on_the_hot_path():
    entry = parse_entry(PREFIX + f'AUDIT: SESSION,1,1,WRITE,INSERT,,,"{HUGE}",<none>')
    assert entry["statement"] == HUGE


def test_a_statement_of_several_hundred_kib_is_read_by_the_general_parser_too():
    assert parse_audit(f'SESSION,1,1,WRITE,INSERT,,,"{HUGE}",<none>')["statement"] == HUGE
    entry = parse_entry(f'2026-11-25 10:00:02 UTC [1703] LOG:  AUDIT: SESSION,1,1,WRITE,INSERT,,,"{HUGE}","""{HUGE}"""')
    assert (entry["statement"], entry["parameters"]) == (HUGE, [HUGE])


# 4. audit_only never drops a line that carries AUDIT:


@pytest.mark.parametrize(
    "unread",
    [
        PREFIX + "AUDIT: SESSION,1,1,READ",  # cut short
        PREFIX + "AUDIT: made up by RAISE LOG",
        PREFIX.replace("LOG", "NOTICE") + "AUDIT: SESSION,x,1,READ,SELECT,,,s,<none>",
        PREFIX.replace("LOG", "STATEMENT") + "DO $$ BEGIN RAISE LOG 'AUDIT: SESSION,1'; END $$",
    ],
)
def test_audit_only_keeps_a_line_carrying_audit_that_is_no_record_and_counts_it(unread, recorded):
    result, records = archived([GENUINE, unread, PREFIX + "connection authorized"], audit_only=True)
    assert result == "Ok"
    assert [r["raw"] for r in records] == [GENUINE, unread]
    assert "audit_type" not in records[1] and records[1]["message"] in unread
    assert recorded.counts == {"UnreadAuditLines": 1}


# 5. Numbers beyond what pgaudit writes; one poison line never fails its envelope


@pytest.mark.parametrize(
    "payload",
    [
        "SESSION,99999999999999999999999,1,MISC,DO,,,x,<none>",
        "SESSION,1,99999999999999999999999,MISC,DO,,,x,<none>",
        "SESSION,9223372036854775808,1,MISC,DO,,,x,<none>",  # int64's largest + 1
        "SESSION,1,1,READ,SELECT,,,x,<none>,18446744073709551616",  # uint64's largest + 1
        'SESSION,99999999999999999999999,1,MISC,DO,,,"a, b",<none>',
    ],
)
def test_a_number_out_of_range_keeps_the_line_as_a_message_and_the_envelope_ok(payload):
    poison = PREFIX + "AUDIT: " + payload
    result, records = archived([GENUINE, poison, GENUINE])
    assert result == "Ok"
    assert [r["raw"] for r in records] == [GENUINE, poison, GENUINE]
    assert records[1]["message"] == "AUDIT: " + payload and "audit_type" not in records[1]
    assert_genuine_kept(records)


@pytest.mark.parametrize(("statement_id", "rows"), [("9223372036854775807", "18446744073709551615"), ("0", "0")])
def test_the_largest_numbers_pgaudit_writes_are_kept(statement_id, rows):
    result, records = archived([PREFIX + f"AUDIT: SESSION,{statement_id},1,READ,SELECT,,,x,<none>,{rows}"])
    assert result == "Ok"
    assert (records[0]["statement_id"], records[0]["rows"]) == (int(statement_id), int(rows))


def test_an_event_that_cannot_be_read_is_kept_escaped_and_counted_and_its_envelope_is_ok(monkeypatch, recorded):
    def refuse(raw, *args):
        if "poison" in raw:
            raise RecursionError("as an unforeseen line might")
        return real(raw, *args)

    real = transform_module.entry_record
    monkeypatch.setattr(transform_module, "entry_record", refuse)
    result, records = archived([GENUINE, PREFIX + "poison", GENUINE])
    assert result == "Ok"
    assert [r["raw"] for r in records] == [GENUINE, PREFIX + "poison", GENUINE]
    assert records[1]["transform_error"] == "RecursionError" and records[1]["event_timestamp"] == 1795600000001
    assert recorded.counts == {"UnreadableEvents": 1}


# 6. Another log_line_prefix than RDS's default


@pytest.mark.parametrize(
    "prefix",
    [
        "2026-11-25 10:00:02.123 UTC [1703] app@orders ",
        "2026-11-25 10:00:02 UTC:10.0.0.5(57617):app@orders:[1703]:00000:",  # %e added
        "[1703] ",
        "",
    ],
)
@pytest.mark.parametrize("level", ["LOG", "NOTICE", "WARNING", "INFO", "DEBUG"])
def test_an_audit_line_after_another_prefix_keeps_its_audit_fields_and_is_counted(prefix, level, recorded):
    line = f'{prefix}{level}:  AUDIT: SESSION,7,1,WRITE,UPDATE,TABLE,public.t,"update t set a = 1, b = 2",<none>,4'
    result, records = archived([line], audit_only=True)
    assert result == "Ok"
    [record] = records
    assert (record["level"], record["statement_id"], record["statement"], record["rows"]) == (
        level, 7, "update t set a = 1, b = 2", 4,
    )  # fmt: skip
    assert (record["log_time"], record["user"], record["pid"]) == (None, None, None)
    assert recorded.counts == {"AuditLinesWithOtherPrefix": 1}


# Lines a user can make PostgreSQL write, through the whole transform


IMITATION = "2026-11-25 10:00:02 UTC:10.0.0.9(1):admin@orders:[1]:LOG:  AUDIT: SESSION,9,1,ROLE,GRANT,,,fake,<none>"


@pytest.mark.parametrize(
    "hostile",
    [
        *(
            PREFIX.replace("LOG", level) + "AUDIT: SESSION,1,1,READ,SELECT,,,raised,<none>"
            for level in ("LOG", "INFO", "NOTICE", "WARNING", "DEBUG", "ERROR")
        ),
        # a statement holding a newline and an imitation of a whole line (PostgreSQL adds its TAB)
        PREFIX + 'AUDIT: SESSION,2,1,READ,SELECT,,,"select 1 -- ""x""\n\t' + IMITATION.replace('"', '""') + '",<none>',
        PREFIX.replace("LOG", "ERROR") + "syntax error\n\t" + IMITATION,
        PREFIX + "AUDIT: SESSION,3,1,READ,SELECT,,,<not logged>,<previously logged>,",
        PREFIX + 'AUDIT: SESSION,4,1,READ,SELECT,,,"<none>","<not logged>"',
        PREFIX + "AUDIT: " + "SESSION," * 5000,
        PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,,,x,<none>,1\n\tAUDIT: SESSION,2,1,READ,SELECT,,,y,<none>,2",
        "\x00" * 10 + GENUINE,
        GENUINE + "\r",
    ],
)
@pytest.mark.parametrize("audit_only", [False, True])
def test_whatever_a_user_makes_postgres_write_nothing_genuine_is_lost(hostile, audit_only):
    result, records = archived([GENUINE, hostile, GENUINE], audit_only)
    assert result == "Ok"
    assert [r["raw"] for r in records] == [GENUINE, hostile, GENUINE]  # with audit_only too: all carry AUDIT:
    assert_genuine_kept(records)
    record = records[1]
    if "audit_type" in record:
        assert record["statement"] in hostile.replace("\n\t", "\n").replace('""', '"')
    else:
        assert record["message"] in hostile.replace("\n\t", "\n")


def test_an_imitated_line_inside_a_statement_stays_inside_that_statement():
    line = PREFIX + 'AUDIT: SESSION,2,1,READ,SELECT,,,"select 1\n\t' + IMITATION.replace('"', '""') + '",<none>'
    entry = parse_entry(line)
    assert (entry["statement_id"], entry["user"], entry["statement"]) == (2, "app", "select 1\n" + IMITATION)
