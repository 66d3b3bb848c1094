import base64
import gzip
import json

from pgaudit_archiver.transform import transform

STREAM = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/pgaudit-111122223333-orders"


def envelope(message_type: str = "DATA_MESSAGE", events: list | None = None) -> str:
    body = {
        "messageType": message_type,
        "owner": "111122223333",
        "logGroup": "/aws/rds/cluster/orders/postgresql",
        "logStream": "orders-instance-1",
        "subscriptionFilters": ["pgaudit-archiver"],
        "logEvents": events if events is not None else [],
    }
    return base64.b64encode(gzip.compress(json.dumps(body).encode())).decode()


def run(*data: str) -> list[dict]:
    event = {
        "deliveryStreamArn": STREAM,
        "region": "eu-west-1",
        "records": [{"recordId": str(i), "data": d} for i, d in enumerate(data)],
    }
    return transform(event)["records"]


def test_transform_writes_one_json_line_per_event_with_the_source():
    prefix = "2025-11-25 10:00:00 UTC:10.0.0.5(5432):app@orders:[42]:LOG:  "
    message = prefix + "AUDIT: SESSION,1,1,DDL,CREATE TABLE,,,x,<not logged>"
    events = [
        {"id": "1", "timestamp": 1764064800000, "message": message},
        {"id": "2", "timestamp": 1764064801000, "message": "m2"},
    ]
    [record] = run(envelope(events=events))
    assert record["result"] == "Ok"
    lines = [json.loads(line) for line in base64.b64decode(record["data"]).decode().splitlines()]
    assert [line["message"] for line in lines] == [message, "m2"]
    assert lines[0] | {"message": None, "event_id": None} == {
        "account": "111122223333",
        "region": "eu-west-1",
        "cluster": "orders",
        "instance": "orders-instance-1",
        "log_group": "/aws/rds/cluster/orders/postgresql",
        "event_timestamp": 1764064800000,
        "event_time": "2025-11-25T10:00:00.000+00:00",
        "message": None,
        "event_id": None,
    }
    assert record["metadata"]["partitionKeys"] == {"event_date": "2025-11-25"}


def test_transform_drops_control_messages():
    assert run(envelope("CONTROL_MESSAGE"))[0]["result"] == "Dropped"


def test_transform_marks_undecodable_records_failed_and_keeps_every_record_id():
    results = run(
        "not-base64!",
        base64.b64encode(b"not gzip").decode(),
        envelope(events=[{"id": "1", "timestamp": 0, "message": "x"}]),
    )
    assert [r["result"] for r in results] == ["ProcessingFailed", "ProcessingFailed", "Ok"]
    assert [r["recordId"] for r in results] == ["0", "1", "2"]
