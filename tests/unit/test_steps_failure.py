"""Record Failure against an in-memory registry: the Error and Cause name step, cluster and AWS error code."""

import json

from pgaudit_archiver.errors import ThrottledError
from pgaudit_archiver.steps.failure import describe_failure, record_failure
from tests.unit.fakes import ACCOUNT, SOURCE, FakeRegistry

REQUEST = {"account_id": ACCOUNT, "region": "eu-west-1", "cluster_id": "orders"}


def lambda_failure(error: Exception) -> dict[str, str]:
    name = type(error).__name__
    return {"Error": name, "Cause": json.dumps({"errorType": name, "errorMessage": str(error)})}


def test_record_failure_of_our_error_keeps_its_message_and_records_the_aws_code() -> None:
    error = ThrottledError("DescribeDBClusters was refused: slow down", aws_error_code="Throttling")
    error.add_context(step="Validate Request", source="cluster orders in account 111122223333 (eu-west-1)")
    registry = FakeRegistry()

    described = describe_failure(REQUEST, lambda_failure(error), "Validate Request")
    record_failure(registry, REQUEST, described)

    assert described.cause == str(error)
    assert described.aws_error_code == "Throttling"
    item = registry.get(SOURCE)
    assert item is not None
    assert item["status"] == "failed"
    assert item["last_error"] == {
        "step": "Validate Request",
        "error": "ThrottledError",
        "aws_error_code": "Throttling",
        "message": str(error),
    }


def test_record_failure_of_a_timeout_says_what_to_do() -> None:
    failure = {"Error": "States.Timeout", "Cause": ""}

    described = describe_failure(REQUEST, failure, "Reboot Instances")

    assert described.cause.startswith(
        "Reboot Instances failed for cluster orders in account 111122223333 (eu-west-1): unexpected States.Timeout"
    )
    assert "every step is safe to rerun" in described.cause


def test_record_failure_without_a_source_records_nothing() -> None:
    registry = FakeRegistry()
    record_failure(registry, "garbage", describe_failure("garbage", {"Error": "X"}, None))
    assert registry.items == {}
