"""Ensure Destination against an in-memory CloudWatch Logs (archive account)."""

import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from pgaudit_archiver.aws.logs import ArchiveLogs
from pgaudit_archiver.errors import AwsRequestError, RoleNotReadyError
from pgaudit_archiver.steps.destination import access_policy, ensure_destination
from tests.unit.fakes import SOURCE, FakeArchiveLogs, refusal, stack_settings

NAME = "pgaudit-111122223333-orders"
STREAM_ARN = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/pgaudit-111122223333-orders"
ROLE_ARN = "arn:aws:iam::123456789012:role/pgaudit-archiver/pgaudit-dest-eu-west-1-111122223333"


def test_ensure_destination_new_source_creates_it_open_to_the_source_account_only() -> None:
    logs = FakeArchiveLogs()

    result = ensure_destination(logs, stack_settings(), SOURCE, STREAM_ARN, ROLE_ARN, role_changed=True)

    assert result.changes == (
        f"created destination {NAME}",
        f"set the access policy of {NAME} for account 111122223333",
    )
    assert result.resources["destination_arn"] == f"arn:aws:logs:eu-west-1:123456789012:destination:{NAME}"
    destination = logs.destinations[NAME]
    assert (destination["targetArn"], destination["roleArn"]) == (STREAM_ARN, ROLE_ARN)
    [statement] = json.loads(destination["accessPolicy"])["Statement"]
    assert statement["Principal"] == {"AWS": "111122223333"}
    assert statement["Action"] == "logs:PutSubscriptionFilter"
    assert destination["tags"]["pgaudit-archiver:source-cluster"] == "orders"


def test_ensure_destination_second_call_changes_nothing() -> None:
    logs = FakeArchiveLogs()
    ensure_destination(logs, stack_settings(), SOURCE, STREAM_ARN, ROLE_ARN, role_changed=True)
    logs.mutations.clear()

    again = ensure_destination(logs, stack_settings(), SOURCE, STREAM_ARN, ROLE_ARN, role_changed=False)

    assert again.changes == ()
    assert logs.mutations == []


def test_ensure_destination_tampered_policy_is_set_again_without_recreating() -> None:
    logs = FakeArchiveLogs()
    ensure_destination(logs, stack_settings(), SOURCE, STREAM_ARN, ROLE_ARN, role_changed=True)
    logs.destinations[NAME]["accessPolicy"] = json.dumps({"Version": "2012-10-17", "Statement": []})

    again = ensure_destination(logs, stack_settings(), SOURCE, STREAM_ARN, ROLE_ARN, role_changed=False)

    assert again.changes == (f"set the access policy of {NAME} for account 111122223333",)
    assert logs.mutations[-1] == f"PutDestinationPolicy {NAME}"


def test_ensure_destination_pointing_elsewhere_is_updated_and_keeps_its_tags() -> None:
    logs = FakeArchiveLogs()
    ensure_destination(
        logs, stack_settings(), SOURCE, "arn:aws:firehose:eu-west-1:1:deliverystream/old", ROLE_ARN, True
    )

    again = ensure_destination(logs, stack_settings(), SOURCE, STREAM_ARN, ROLE_ARN, role_changed=False)

    assert again.changes[0] == f"updated destination {NAME}"
    assert logs.destinations[NAME]["targetArn"] == STREAM_ARN
    assert logs.destinations[NAME]["tags"] is not None


@pytest.mark.parametrize("code", ["InvalidParameterException", "AccessDeniedException"])
def test_ensure_destination_fresh_role_refused_is_not_ready_yet_and_retried(code: str) -> None:
    logs = FakeArchiveLogs()
    logs.refuse("PutDestination", refusal("PutDestination", code))

    with pytest.raises(RoleNotReadyError, match=f"destination role {ROLE_ARN} is not usable yet") as raised:
        ensure_destination(logs, stack_settings(), SOURCE, STREAM_ARN, ROLE_ARN, role_changed=True)
    assert raised.value.aws_error_code == code


def test_ensure_destination_old_role_refused_is_a_permanent_error_naming_the_code() -> None:
    logs = FakeArchiveLogs()
    logs.refuse("PutDestination", refusal("PutDestination", "InvalidParameterException"))

    with pytest.raises(AwsRequestError) as raised:
        ensure_destination(logs, stack_settings(), SOURCE, STREAM_ARN, ROLE_ARN, role_changed=False)
    assert type(raised.value) is AwsRequestError
    assert "InvalidParameterException" in str(raised.value)


def test_put_destination_policy_does_not_affirm_an_organization_wide_update() -> None:
    # forceUpdate=true tells CloudWatch Logs the senders' filters were updated for an aws:PrincipalOrgID policy;
    # the policy we write names one account, so the request must not say so.
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="eu-west-1")
    sent: list[dict[str, Any]] = []

    def answer(params: dict[str, Any], **_: Any) -> Any:  # a response short-circuits the call
        sent.append(json.loads(params["body"]))
        return SimpleNamespace(status_code=200), {}

    session.events.register("before-call.logs.PutDestinationPolicy", answer)
    policy = access_policy(stack_settings(), SOURCE, NAME)

    ArchiveLogs(session).put_destination_policy(NAME, policy)

    assert sent == [{"destinationName": NAME, "accessPolicy": json.dumps(policy)}]
