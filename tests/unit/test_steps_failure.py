"""Record Failure against an in-memory registry: the Error and Cause name step, cluster and AWS error code."""

import json
from types import SimpleNamespace
from typing import Any

import boto3

from pgaudit_archiver.aws.stepfunctions import HISTORY_PAGES, ArchiveStepFunctions
from pgaudit_archiver.errors import ThrottledError
from pgaudit_archiver.steps.failure import describe_failure, describe_source, record_failure
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


class History:
    """GetExecutionHistory over a stubbed session: pages of `maxResults`, newest first with `reverseOrder`."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = [{**event, "id": number, "timestamp": 0} for number, event in enumerate(events, start=1)]
        self.calls: list[dict[str, Any]] = []

    def answer(self, params: dict[str, Any], **_: Any) -> Any:  # a response short-circuits the call
        request = json.loads(params["body"])
        self.calls.append(request)
        events = self.events[::-1] if request.get("reverseOrder") else self.events
        start = int(request.get("nextToken") or 0)
        end = start + request.get("maxResults", 100)
        page: dict[str, Any] = {"events": events[start:end]}
        if end < len(events):
            page["nextToken"] = str(end)
        return SimpleNamespace(status_code=200), page

    def client(self) -> ArchiveStepFunctions:
        session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="eu-west-1")
        session.events.register("before-call.states.GetExecutionHistory", self.answer)
        return ArchiveStepFunctions(session)


def entered(name: str) -> dict[str, Any]:
    return {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name}}


def attempts(count: int) -> list[dict[str, Any]]:
    """A Lambda task's attempts, each failed and retried: three events apiece."""
    return [{"type": kind} for _ in range(count) for kind in ("TaskScheduled", "TaskStarted", "TaskFailed")]


EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:onboard:x"


def test_failed_step_retried_beyond_fifty_events_is_still_named() -> None:
    started = [{"type": "ExecutionStarted"}, entered("Validate Request"), *attempts(1)]
    retried = [entered("Reboot Instances"), *attempts(40)]
    history = History([*started, *retried, entered("Record Failure"), *attempts(1)[:2]])

    step = history.client().last_entered_state_before(EXECUTION, "Record Failure")

    assert step == "Reboot Instances"  # 120 events back: the second page
    assert [call.get("nextToken") for call in history.calls] == [None, "100"]
    assert all(call["reverseOrder"] for call in history.calls)
    failure = {"Error": "Lambda.Unknown", "Cause": "Task timed out after 60.00 seconds"}
    assert describe_failure(REQUEST, failure, step).cause.startswith("Reboot Instances failed for cluster orders")


def test_failed_step_search_reads_a_bounded_number_of_pages() -> None:
    history = History([entered("Reboot Instances"), *attempts(2_000), entered("Record Failure")])

    assert history.client().last_entered_state_before(EXECUTION, "Record Failure") is None
    assert len(history.calls) == HISTORY_PAGES


def test_a_db_instance_is_named_as_one_in_its_onboarding_input_and_once_resolved() -> None:
    onboarding_input = {"account_id": "111122223333", "region": "eu-west-1", "instance_id": "hr"}
    resolved = {"account_id": "111122223333", "region": "eu-west-1", "cluster_id": "hr", "kind": "db-instance"}

    for request in (onboarding_input, resolved):
        assert describe_source(request) == "DB instance hr in account 111122223333 (eu-west-1)"
    assert describe_source({**resolved, "kind": "multi-az-cluster"}).startswith("cluster hr in account")
