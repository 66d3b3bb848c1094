"""Event shapes and whole envelopes through the transform: event ids and times, audit_only, the bench's lines,
and events no archive line can be written for."""

import base64
import gzip
import json
import random

import pytest

from local.transform_bench import generated_line
from pgaudit_archiver import transform as transform_module
from pgaudit_archiver.logline import parse_entry
from pgaudit_archiver.transform import archive_lines, transform
from tests.unit.envelopes import envelope

SOURCE = {
    "account": "111122223333",
    "region": "eu-west-1",
    "cluster": "orders",
    "instance": "orders-instance-1",
    "log_group": "/aws/rds/cluster/orders/postgresql",
}
PREFIX = "2026-11-25 10:00:02 UTC:10.0.0.5(57617):app@orders:[1703]:LOG:  "
EVENT_ID = "37952891235608231000000000000000000000000000000000000000"  # 56 digits, as CloudWatch Logs writes


def event(message: str, **fields) -> dict:
    return {"id": EVENT_ID, "timestamp": 1795600000123, "message": message, **fields}


def records(events: list[dict], audit_only: bool = False) -> list[dict]:
    lines = archive_lines(events, SOURCE, audit_only)
    assert lines == b"" or lines.endswith(b"\n")
    return [json.loads(line) for line in lines.splitlines()]


def test_a_record_is_the_source_the_event_and_the_entry_in_that_order():
    [record] = records([event(PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,,,select 1,<none>,3")])
    assert list(record) == [
        *SOURCE, "event_id", "event_time", "event_timestamp", "log_time", "client_addr", "client_port", "user",
        "database", "pid", "level", "audit_type", "statement_id", "substatement_id", "class", "command",
        "object_type", "object_name", "statement", "parameters", "rows", "raw",
    ]  # fmt: skip
    assert record["event_id"] == EVENT_ID and record["rows"] == 3


@pytest.mark.parametrize(
    ("fields", "event_id", "event_time"),
    [
        ({"timestamp": 0}, EVENT_ID, "1970-01-01T00:00:00.000+00:00"),
        ({"timestamp": 253402300799999}, EVENT_ID, "9999-12-31T23:59:59.999+00:00"),
        ({"timestamp": 951782400000}, EVENT_ID, "2000-02-29T00:00:00.000+00:00"),
        ({"timestamp": -1}, EVENT_ID, "1969-12-31T23:59:59.999+00:00"),
        ({"id": None}, None, "2026-11-25T09:46:40.123+00:00"),
        ({"id": 7}, 7, "2026-11-25T09:46:40.123+00:00"),
    ],
)
def test_event_ids_and_times(fields, event_id, event_time):
    [record] = records([event(PREFIX + "x", **fields)])
    assert (record["event_id"], record["event_time"], record["raw"]) == (event_id, event_time, PREFIX + "x")


def test_an_event_without_an_id_has_a_null_one():
    assert records([{"timestamp": 1795600000123, "message": PREFIX + "x"}])[0]["event_id"] is None


def test_audit_only_keeps_the_audit_records_and_only_them():
    messages = [PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,,,x,<none>", PREFIX + "x", "y", ""]
    assert [r["raw"] for r in records([event(m) for m in messages], audit_only=True)] == messages[:1]
    assert [r["raw"] for r in records([event(m) for m in messages])] == messages


def test_every_bench_line_is_an_audit_record_or_a_duration_message_with_its_raw_line():
    rng = random.Random(1)
    lines = [generated_line(rng, n) for n in range(600)]
    archived = records([event(line) for line in lines])
    assert [r["raw"] for r in archived] == lines
    for record in archived:
        assert ("audit_type" in record) != record.get("message", "").startswith("duration: ")
        assert {
            k: v for k, v in record.items() if k not in (*SOURCE, "event_id", "event_time", "event_timestamp", "raw")
        } == parse_entry(record["raw"])


def transformed(events: list) -> dict:
    data = envelope(events)
    event_in = {
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:1:deliverystream/s",
        "records": [{"recordId": "r", "data": data}],
    }
    [record] = transform(event_in)["records"]
    return {**record, "sent": data}


@pytest.mark.parametrize(
    ("broken", "raw"),
    [
        ({"timestamp": 1795600000124, "message": "\ud800 lone surrogate"}, "\\ud800 lone surrogate"),
        ({"timestamp": 253402300800000, "message": "year 10000"}, "year 10000"),
        ({"timestamp": "1", "message": "x"}, "x"),
        ({"message": "x"}, "x"),
        ({"timestamp": 1795600000124, "message": None}, "None"),
        ("x", "x"),
    ],
)
def test_an_event_no_record_can_be_written_for_is_kept_escaped_and_its_envelope_is_ok(broken, raw):
    record = transformed([event(PREFIX + "x"), broken, event(PREFIX + "y")])
    assert (record["result"], record["metadata"]["partitionKeys"]) == (
        "Ok",
        {"event_date": "2026-11-25", "area": "pgaudit"},
    )
    lines = [json.loads(line) for line in base64.b64decode(record["data"]).splitlines()]
    [unreadable] = [line for line in lines if "transform_error" in line]
    assert [line["raw"] for line in lines if line is not unreadable] == [PREFIX + "x", PREFIX + "y"]
    assert (unreadable["raw"], unreadable["event_time"]) == (raw, None)


def test_an_envelope_without_any_usable_timestamp_is_kept_under_the_error_prefix():
    record = transformed([{"timestamp": "1", "message": "x"}, {"message": "y"}])
    assert (record["result"], record["data"]) == ("ProcessingFailed", record["sent"])


def test_each_line_starts_with_the_source_once_whatever_its_values():
    odd = {**SOURCE, "account": {"nested": ["}", '"account":']}, "cluster": None, "log_group": 'a"b\n'}
    lines = archive_lines([event(PREFIX + "statement: select 1"), event(PREFIX + "x")], odd, False)
    for line in lines.splitlines():
        record = json.loads(line)
        assert list(record)[: len(odd)] == list(odd) and {key: record[key] for key in odd} == odd
        assert line.count(b'"account":') == 1  # the record's own "account" key holds the source, not a second one


def test_a_source_whose_first_field_is_not_its_account_is_refused():
    # each line's source is written as the value of the record's first field, "account": another order cannot be
    with pytest.raises(ValueError, match="account"):
        archive_lines([event(PREFIX + "x")], {"region": "eu-west-1", **SOURCE}, False)


def test_a_canary_record_has_the_source_first_and_its_account():
    canary = PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,,,select 'pgaudit-archiver canary 7',<none>"
    body = {
        "messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "/aws/rds/cluster/orders/postgresql",
        "logStream": "orders-instance-1", "subscriptionFilters": ["f"], "logEvents": [event(canary)],
    }  # fmt: skip
    data = base64.b64encode(gzip.compress(json.dumps(body).encode())).decode()
    canaries: list[dict] = []
    transform({"region": "eu-west-1", "records": [{"recordId": "1", "data": data}]}, None, False, canaries)
    [record] = canaries
    assert list(record)[: len(SOURCE) + 1] == [*SOURCE, "event_id"]
    assert {key: record[key] for key in SOURCE} == SOURCE and record["statement_id"] == 1


def test_without_orjson_the_standard_library_writes_the_same_line():
    source = json.dumps(SOURCE, separators=(",", ":")).encode()
    contents = source[len(b'{"account":') : -1]
    record = {"account": None, "event_id": "1", "raw": 'a "quoted"\nline', "rows": None}
    newline = transform_module._NEWLINE
    with_orjson = transform_module._dumps({**record, "account": transform_module._Fragment(contents)}, option=newline)
    fallback = transform_module._stdlib_line({**record, "account": transform_module._StdlibFragment(contents)}, newline)
    expected = {**SOURCE, **{key: value for key, value in record.items() if key != "account"}}
    assert with_orjson == json.dumps(expected, separators=(",", ":")).encode() + b"\n"
    assert fallback == with_orjson
    alone = transform_module._stdlib_line({"account": transform_module._StdlibFragment(contents)}, 0)
    assert alone == source
