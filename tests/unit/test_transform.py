import base64
import gzip
import json

from pgaudit_archiver.models import Source
from pgaudit_archiver.naming import delivery_stream_name
from pgaudit_archiver.transform import transform
from tests.unit.envelopes import envelope as source_envelope

STREAM = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/pgaudit-111122223333-orders"


def envelope(message_type: str = "DATA_MESSAGE", events: list | None = None) -> str:
    return source_envelope(events if events is not None else [], messageType=message_type)


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
    assert [line["raw"] for line in lines] == [message, "m2"]
    assert (lines[0]["class"], lines[0]["command"], lines[1]["message"]) == ("DDL", "CREATE TABLE", "m2")
    source_fields = ("account", "region", "cluster", "instance", "log_group", "event_timestamp", "event_time")
    assert {key: lines[0][key] for key in source_fields} == {
        "account": "111122223333",
        "region": "eu-west-1",
        "cluster": "orders",
        "instance": "orders-instance-1",
        "log_group": "/aws/rds/cluster/orders/postgresql",
        "event_timestamp": 1764064800000,
        "event_time": "2025-11-25T10:00:00.000+00:00",
    }
    assert record["metadata"]["partitionKeys"] == {"event_date": "2025-11-25", "area": "pgaudit"}


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


def audit_event(index: int, timestamp: int, size: int = 0) -> dict:
    statement = f"INSERT INTO t VALUES ({index}, '{'x' * size}')"
    prefix = "2025-11-25 10:00:00 UTC:10.0.0.5(5432):app@orders:[42]:LOG:  AUDIT: "
    return {
        "id": str(index),
        "timestamp": timestamp,
        "message": f"{prefix}SESSION,{index},1,WRITE,INSERT,,,{statement},<none>",
    }


def test_events_of_two_dates_keep_the_first_and_reingest_the_second_as_its_own_envelope():
    before, after = 1764115199000, 1764115200000  # 2025-11-25 23:59:59 and 2025-11-26 00:00:00 UTC
    reingested: list[bytes] = []
    data = envelope(events=[audit_event(1, before), audit_event(2, after)])
    event = {"deliveryStreamArn": STREAM, "region": "eu-west-1", "records": [{"recordId": "r", "data": data}]}

    [record] = transform(event, reingested.extend)["records"]

    assert record["metadata"]["partitionKeys"] == {"event_date": "2025-11-25", "area": "pgaudit"}
    assert [json.loads(line)["statement_id"] for line in base64.b64decode(record["data"]).decode().splitlines()] == [1]
    [again] = [json.loads(gzip.decompress(piece)) for piece in reingested]
    assert [e["id"] for e in again["logEvents"]] == ["2"]
    [second] = transform(
        {
            **event,
            "records": [
                {"recordId": "s", "data": base64.b64encode(gzip.compress(json.dumps(again).encode())).decode()}
            ],
        }
    )["records"]
    assert second["metadata"]["partitionKeys"] == {"event_date": "2025-11-26", "area": "pgaudit"}


def test_response_stays_under_6_mb_by_reingesting_and_nothing_is_lost():
    # 12 envelopes of 40 events with 20 kB statements: about 13 MB of output for one invocation.
    now = 1764064800000
    records = [
        {"recordId": str(r), "data": envelope(events=[audit_event(r * 100 + i, now, 20_000) for i in range(40)])}
        for r in range(12)
    ]
    reingested: list[bytes] = []
    result = transform({"deliveryStreamArn": STREAM, "region": "eu-west-1", "records": records}, reingested.extend)

    response_size = len(json.dumps(result))
    assert response_size < 6 * 1024 * 1024
    kept = {
        json.loads(line)["statement_id"]
        for r in result["records"]
        if r["result"] == "Ok"
        for line in base64.b64decode(r["data"]).decode().splitlines()
    }
    again = {int(e["id"]) for piece in reingested for e in json.loads(gzip.decompress(piece))["logEvents"]}
    assert kept | again == {r * 100 + i for r in range(12) for i in range(40)}
    assert not kept & again
    assert all(len(piece) <= 1000 * 1024 for piece in reingested)
    assert {r["result"] for r in result["records"]} == {"Ok", "Dropped"}


def test_failed_reingestion_keeps_the_record_under_the_error_prefix():
    before, after = 1764115199000, 1764115200000
    data = envelope(events=[audit_event(1, before), audit_event(2, after)])

    def refuse(records: list[bytes]) -> None:
        raise RuntimeError("throttled")

    [record] = transform({"deliveryStreamArn": STREAM, "records": [{"recordId": "r", "data": data}]}, refuse)["records"]
    assert (record["result"], record["data"]) == ("ProcessingFailed", data)


def test_audit_only_drops_lines_that_are_not_pgaudit():
    events = [audit_event(1, 1764064800000), {"id": "2", "timestamp": 1764064800000, "message": "not audit"}]
    [record] = transform(
        {"deliveryStreamArn": STREAM, "records": [{"recordId": "r", "data": envelope(events=events)}]}, audit_only=True
    )["records"]
    assert [json.loads(line)["statement_id"] for line in base64.b64decode(record["data"]).decode().splitlines()] == [1]


def checked(body_changes: dict, stream: str = STREAM) -> dict:
    message = "2025-11-25 10:00:00 UTC:10.0.0.5(5432):app@orders:[42]:LOG:  AUDIT: SESSION,1,1,DDL,DROP TABLE,,,x,"
    data = source_envelope([{"id": "1", "timestamp": 1764064800000, "message": message}], **body_changes)
    event = {"deliveryStreamArn": stream, "region": "eu-west-1", "records": [{"recordId": "1", "data": data}]}
    [record] = transform(event, check_source=True)["records"]
    return record


def test_envelope_from_the_streams_source_is_archived():
    assert checked({})["metadata"]["partitionKeys"]["area"] == "pgaudit"


def test_envelope_from_another_log_group_or_account_is_quarantined_parsed():
    for changes in (
        {"logGroup": "/aws/rds/cluster/billing/postgresql"},  # another cluster of the same account
        {"logGroup": "/aws/lambda/anything"},  # any log group the source account's principal may subscribe
        {"owner": "444455556666"},
        {"owner": "\uff11" * 4 + "\uff12" * 4 + "\uff13" * 4},  # fullwidth digits are not the account
    ):
        record = checked(changes)
        assert record["result"] == "Ok", changes
        assert record["metadata"]["partitionKeys"]["area"] == "quarantine", changes
        [line] = [json.loads(line) for line in base64.b64decode(record["data"]).decode().splitlines()]
        assert line["command"] == "DROP TABLE"  # kept and readable, for whoever investigates


def test_a_shortened_stream_name_is_checked_by_its_hash():
    cluster = "c" * 60  # pgaudit-<account>-<cluster> passes 64 characters: the name carries a hash
    name = delivery_stream_name(Source(account_id="111122223333", region="eu-west-1", cluster_id=cluster))
    stream = STREAM.rsplit("/", 1)[0] + "/" + name
    own = checked({"logGroup": f"/aws/rds/cluster/{cluster}/postgresql"}, stream)
    other = checked({"logGroup": f"/aws/rds/cluster/{cluster[:-1]}d/postgresql"}, stream)
    assert (own["metadata"]["partitionKeys"]["area"], other["metadata"]["partitionKeys"]["area"]) == (
        "pgaudit",
        "quarantine",
    )


def test_delivered_names_the_source_only_when_its_audit_records_go_to_the_archive():
    message = "2025-11-25 10:00:00 UTC:10.0.0.5(5432):app@orders:[42]:LOG:  AUDIT: SESSION,1,1,DDL,DROP TABLE,,,x,"
    audit = [{"id": "1", "timestamp": 1764064800000, "message": message}]
    orders = Source(account_id="111122223333", region="eu-west-1", cluster_id="orders")

    def delivered(*envelopes: str) -> set[Source]:
        found: set[Source] = set()
        records = [{"recordId": str(i), "data": data} for i, data in enumerate(envelopes)]
        transform({"deliveryStreamArn": STREAM, "region": "eu-west-1", "records": records}, check_source=True,
                  delivered=found)  # fmt: skip
        return found

    assert delivered(source_envelope(audit)) == {orders}
    assert delivered(source_envelope(audit, logGroup="/aws/rds/cluster/billing/postgresql")) == set()  # quarantined
    assert delivered(envelope("CONTROL_MESSAGE")) == set()
    other_lines = [{"id": "2", "timestamp": 1764064800000, "message": 'ERROR: x "audit_type":"SESSION"'}]
    assert delivered(source_envelope(other_lines)) == set()  # archived, but no audit record
    assert delivered(source_envelope(other_lines + audit)) == {orders}


def test_an_instances_log_group_feeds_its_own_stream_never_the_same_named_clusters():
    instance = Source(account_id="111122223333", region="eu-west-1", cluster_id="orders", kind="db-instance")
    stream = STREAM.rsplit("/", 1)[0] + "/" + delivery_stream_name(instance)
    instance_group = {"logGroup": "/aws/rds/instance/orders/postgresql", "logStream": "orders"}

    own = checked(instance_group, stream)
    cluster_into_instance_stream = checked({}, stream)
    instance_into_cluster_stream = checked(instance_group)

    assert own["metadata"]["partitionKeys"]["area"] == "pgaudit"
    [line] = [json.loads(line) for line in base64.b64decode(own["data"]).decode().splitlines()]
    assert line["cluster"] == "instance--orders"  # the source's key, as in the S3 prefix
    for crossed in (cluster_into_instance_stream, instance_into_cluster_stream):
        assert crossed["metadata"]["partitionKeys"]["area"] == "quarantine"
