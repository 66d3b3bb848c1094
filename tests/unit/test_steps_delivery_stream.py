"""Ensure Delivery Stream against an in-memory Firehose."""

import pytest

from pgaudit_archiver.errors import AwsRequestError, ResourceConflictError, WaitTimeoutError
from pgaudit_archiver.steps.delivery_stream import desired_destination, ensure_delivery_stream
from tests.unit.fakes import SOURCE, FakeFirehose, stack_settings

STREAM = "pgaudit-111122223333-orders"


def ensure_until_ready(firehose: FakeFirehose) -> list[str]:
    settings, polls, changes = stack_settings(), 0, list[str]()
    while True:
        result = ensure_delivery_stream(firehose, settings, SOURCE, polls)
        changes += result.changes
        if result.ready:
            return changes
        polls = result.polls


def test_ensure_delivery_stream_new_source_creates_the_stream_and_waits_until_active() -> None:
    firehose = FakeFirehose(creating_polls=1)

    first = ensure_delivery_stream(firehose, stack_settings(), SOURCE, 0)
    assert first.changes == (f"created {STREAM}",)
    assert not first.ready
    assert first.resources["delivery_stream_arn"].endswith(f"deliverystream/{STREAM}")

    waiting = ensure_delivery_stream(firehose, stack_settings(), SOURCE, first.polls)
    assert (waiting.ready, waiting.changes) == (False, ())
    ready = ensure_delivery_stream(firehose, stack_settings(), SOURCE, waiting.polls)
    assert ready.ready and ready.changes == ()


def test_ensure_delivery_stream_writes_under_the_sources_prefix_through_the_transform() -> None:
    firehose = FakeFirehose()
    ensure_until_ready(firehose)
    written = firehose.streams[STREAM]["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert written["BucketARN"] == "arn:aws:s3:::pgaudit-archive"
    assert written["Prefix"] == (
        "!{partitionKeyFromLambda:area}/account=111122223333/region=eu-west-1/cluster=orders/"
        "date=!{partitionKeyFromLambda:event_date}/"
    )
    lambda_arn = written["ProcessingConfiguration"]["Processors"][0]["Parameters"][0]["ParameterValue"]
    assert lambda_arn.endswith(":function:pgaudit-archiver-transform")


def test_ensure_delivery_stream_second_call_changes_nothing() -> None:
    firehose = FakeFirehose()
    ensure_until_ready(firehose)
    firehose.mutations.clear()

    again = ensure_delivery_stream(firehose, stack_settings(), SOURCE, 0)

    assert again.ready and again.changes == ()
    assert firehose.mutations == []


def test_ensure_delivery_stream_tampered_prefix_and_buffering_are_put_back() -> None:
    firehose = FakeFirehose()
    ensure_until_ready(firehose)
    current = firehose.streams[STREAM]["Destinations"][0]["ExtendedS3DestinationDescription"]
    current["Prefix"] = "tampered/"
    current["BufferingHints"] = {"SizeInMBs": 5, "IntervalInSeconds": 60}

    result = ensure_delivery_stream(firehose, stack_settings(), SOURCE, 0)

    assert result.changes == (f"updated {STREAM}: Prefix, BufferingHints",)
    repaired = firehose.streams[STREAM]["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert repaired["Prefix"] == desired_destination(stack_settings(), SOURCE)["Prefix"]
    assert repaired["BufferingHints"] == {"SizeInMBs": 64, "IntervalInSeconds": 300}


def test_ensure_delivery_stream_aws_defaults_are_not_drift() -> None:
    firehose = FakeFirehose()
    ensure_until_ready(firehose)
    described = firehose.streams[STREAM]["Destinations"][0]["ExtendedS3DestinationDescription"]
    described["EncryptionConfiguration"] = {"NoEncryptionConfig": "NoEncryption"}  # AWS adds this itself
    described["ProcessingConfiguration"]["Processors"][0]["Parameters"].append(
        {"ParameterName": "NumberOfRetries", "ParameterValue": "3"}
    )
    firehose.mutations.clear()

    assert ensure_delivery_stream(firehose, stack_settings(), SOURCE, 0).changes == ()
    assert firehose.mutations == []


def test_ensure_delivery_stream_failed_creation_names_the_stream_and_what_to_do() -> None:
    firehose = FakeFirehose()
    ensure_delivery_stream(firehose, stack_settings(), SOURCE, 0)
    firehose.streams[STREAM]["DeliveryStreamStatus"] = "CREATING_FAILED"
    firehose.streams[STREAM]["FailureDescription"] = {"Details": "bucket policy refused the role"}

    with pytest.raises(AwsRequestError, match=f"{STREAM} failed to create: bucket policy refused") as raised:
        ensure_delivery_stream(firehose, stack_settings(), SOURCE, 1)
    assert raised.value.remedy == f"delete {STREAM} in the archive account, then onboard again"


def test_ensure_delivery_stream_being_deleted_is_a_conflict() -> None:
    firehose = FakeFirehose()
    ensure_until_ready(firehose)
    firehose.streams[STREAM]["DeliveryStreamStatus"] = "DELETING"
    with pytest.raises(ResourceConflictError, match=f"delivery stream {STREAM} is DELETING"):
        ensure_delivery_stream(firehose, stack_settings(), SOURCE, 0)


def test_ensure_delivery_stream_stuck_creating_times_out_after_max_polls() -> None:
    firehose = FakeFirehose(creating_polls=100)
    settings = stack_settings(MAX_POLLS="2")
    result = ensure_delivery_stream(firehose, settings, SOURCE, 0)
    result = ensure_delivery_stream(firehose, settings, SOURCE, result.polls)
    assert result.polls == 2
    with pytest.raises(WaitTimeoutError, match=f"delivery stream {STREAM} stayed CREATING for 2 polls"):
        ensure_delivery_stream(firehose, settings, SOURCE, result.polls)
