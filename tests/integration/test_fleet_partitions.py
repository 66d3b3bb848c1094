"""Register Fleet Partitions under moto: the fleet table, as template.yaml defines it, gets exactly one partition
per source and day that has an archived object, whatever order and repetition S3's events come in."""

import gzip

import boto3
import pytest
from moto import mock_aws

from functions.register_fleet_partitions import app
from local.template import ARCHIVE_TEMPLATE, load_template
from pgaudit_archiver.aws.catalog import fleet_catalog
from tests.integration.test_fleet_queries import DB_INSTANCE, archive_source_key
from tests.unit.test_handlers import Context

CONTEXT = Context(function_name="pgaudit-archiver-RegisterFleetPartitionsFunction")

BUCKET = "pgaudit-archiver-archive"
DATABASE = "pgaudit_archive"
SOURCES = [
    ("111111111111", "eu-west-1", "orders-db"),
    ("111111111111", "eu-west-1", "billing-db"),
    ("222222222222", "eu-west-1", "orders-db"),
    ("222222222222", "us-east-1", "ledger-db"),
    ("333333333333", "eu-west-1", "users-db"),
    ("333333333333", "eu-west-1", "audit-db"),
    ("222222222222", "eu-west-1", archive_source_key(DB_INSTANCE, "orders-db")),  # a DB instance's prefix
]


def fleet_table_input() -> dict:
    table = load_template(ARCHIVE_TEMPLATE)["Resources"]["FleetRecordsTable"]["Properties"]["TableInput"]
    table = {**table, "StorageDescriptor": {**table["StorageDescriptor"], "Location": f"s3://{BUCKET}/pgaudit/"}}
    return table


def s3_event(keys: list[str]) -> dict:
    """As S3 sends it: one record per object, the key URL-encoded."""
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": BUCKET}, "object": {"key": key.replace("=", "%3D")}},
            }
            for key in keys
        ]
    }


@pytest.fixture
def archive(monkeypatch):
    monkeypatch.setenv("GLUE_DATABASE", DATABASE)
    monkeypatch.setenv("FLEET_TABLE", "fleet_records")
    fleet_catalog.cache_clear()
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        glue = boto3.client("glue")
        glue.create_database(DatabaseInput={"Name": DATABASE})
        glue.create_table(DatabaseName=DATABASE, TableInput=fleet_table_input())
        keys = []
        for index, (account, region, cluster) in enumerate(SOURCES):
            # every source delivers on the first day, every other source also on the second, several objects a day
            days = ["2026-11-24", "2026-11-25"] if index % 2 else ["2026-11-24"]
            for day in days:
                for part in range(3):
                    keys.append(f"pgaudit/account={account}/region={region}/cluster={cluster}/date={day}/o-{part}.gz")
        keys.append("quarantine/account=444444444444/region=eu-west-1/cluster=x/date=2026-11-24/o.gz")
        keys.append(
            "errors/account=111111111111/region=eu-west-1/cluster=orders-db/processing-failed/date=2026-11-24/o"
        )
        for key in keys:
            s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(b"{}\n"))
        yield s3, glue
    fleet_catalog.cache_clear()


def registered(glue) -> set[tuple[str, ...]]:
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=DATABASE, TableName="fleet_records")
    return {(*p["Values"], p["StorageDescriptor"]["Location"]) for page in pages for p in page["Partitions"]}


def expected_from_objects(s3) -> set[tuple[str, ...]]:
    found = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="pgaudit/"):
        for item in page["Contents"]:
            folder = item["Key"].rsplit("/", 1)[0]
            values = tuple(part.split("=", 1)[1] for part in folder.split("/")[1:])
            found.add((*values, f"s3://{BUCKET}/{folder}/"))
    return found


def all_keys(s3) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return [item["Key"] for page in pages for item in page["Contents"]]


def test_register_fleet_partitions_objects_of_seven_sources_exactly_their_days(archive):
    s3, glue = archive
    keys = all_keys(s3)
    # Given events in several batches, the same object reported twice (S3 delivers at least once)
    answers = [app.lambda_handler(s3_event(batch), CONTEXT) for batch in (keys[:7], keys[7:], keys[3:12])]
    assert registered(glue) == expected_from_objects(s3)
    assert len(registered(glue)) == 10  # 7 sources on the first day, 3 on the second
    assert sum(a["created"] for a in answers) == 10
    instance = archive_source_key(DB_INSTANCE, "orders-db")
    assert ("222222222222", "eu-west-1", instance, "2026-11-24",
            f"s3://{BUCKET}/pgaudit/account=222222222222/region=eu-west-1/cluster={instance}/date=2026-11-24/",
            ) in registered(glue)  # fmt: skip
    assert answers[2]["created"] == 0 and answers[2]["existing"] > 0
    assert sum(a["outside_archive"] for a in answers[:2]) == 2


def test_register_fleet_partitions_partition_reads_like_the_table(archive):
    s3, glue = archive
    app.lambda_handler(s3_event([k for k in all_keys(s3) if k.startswith("pgaudit/")][:1]), CONTEXT)
    [partition] = glue.get_partitions(DatabaseName=DATABASE, TableName="fleet_records")["Partitions"]
    table = glue.get_table(DatabaseName=DATABASE, Name="fleet_records")["Table"]["StorageDescriptor"]
    assert partition["StorageDescriptor"]["SerdeInfo"] == table["SerdeInfo"]
    assert partition["StorageDescriptor"]["Columns"] == table["Columns"]


def test_register_fleet_partitions_event_of_no_archive_object_creates_nothing(archive):
    s3, glue = archive
    answer = app.lambda_handler(s3_event([k for k in all_keys(s3) if not k.startswith("pgaudit/")]), CONTEXT)
    assert answer == {"created": 0, "existing": 0, "outside_archive": 2}
    assert registered(glue) == set()
