"""Ensure Subscription Filter against an in-memory CloudWatch Logs: ours only, never anyone else's."""

import pytest

from pgaudit_archiver.errors import SubscriptionSlotsFullError
from pgaudit_archiver.steps.subscription_filter import ensure_subscription_filter
from tests.unit.fakes import FakeLogs, resolved

GROUP = "/aws/rds/cluster/orders/postgresql"
DESTINATION = "arn:aws:logs:eu-west-1:123456789012:destination:pgaudit-111122223333-orders"


def logs_with_group() -> FakeLogs:
    logs = FakeLogs()
    logs.add_group(GROUP)
    return logs


def test_ensure_subscription_filter_creates_ours_to_the_destination() -> None:
    logs = logs_with_group()

    result = ensure_subscription_filter(logs, resolved(), DESTINATION)

    assert result.changes == (f"created subscription filter pgaudit-archiver on {GROUP}",)
    assert result.resources == {"subscription_filter": f"{GROUP}:pgaudit-archiver"}
    assert logs.filters[GROUP] == [
        {
            "filterName": "pgaudit-archiver",
            "logGroupName": GROUP,
            "filterPattern": '"AUDIT:"',
            "destinationArn": DESTINATION,
        }
    ]


def test_ensure_subscription_filter_second_call_changes_nothing() -> None:
    logs = logs_with_group()
    ensure_subscription_filter(logs, resolved(), DESTINATION)
    logs.mutations.clear()

    again = ensure_subscription_filter(logs, resolved(), DESTINATION)

    assert again.changes == ()
    assert logs.mutations == []


def test_ensure_subscription_filter_changed_pattern_updates_ours_in_place() -> None:
    logs = logs_with_group()
    ensure_subscription_filter(logs, resolved(), DESTINATION)

    again = ensure_subscription_filter(logs, resolved(filter_pattern="AUDIT"), DESTINATION)

    assert again.changes == (f"updated subscription filter pgaudit-archiver on {GROUP}",)
    assert [f["filterPattern"] for f in logs.filters[GROUP]] == ["AUDIT"]


def test_ensure_subscription_filter_ours_under_another_name_is_kept_by_that_name() -> None:
    logs = logs_with_group()
    logs.filters[GROUP].append({"filterName": "renamed", "filterPattern": "old", "destinationArn": DESTINATION})

    result = ensure_subscription_filter(logs, resolved(), DESTINATION)

    assert result.changes == (f"updated subscription filter renamed on {GROUP}",)
    assert [f["filterName"] for f in logs.filters[GROUP]] == ["renamed"]


def test_ensure_subscription_filter_slots_taken_by_others_fails_listing_them_and_touches_none() -> None:
    logs = logs_with_group()
    others = [
        {"filterName": "siem", "filterPattern": "", "destinationArn": "arn:aws:lambda:eu-west-1:1:function:siem"},
        {"filterName": "metrics", "filterPattern": "ERROR", "destinationArn": "arn:aws:kinesis:eu-west-1:1:stream/m"},
    ]
    logs.filters[GROUP] = [dict(f) for f in others]

    with pytest.raises(SubscriptionSlotsFullError) as raised:
        ensure_subscription_filter(logs, resolved(), DESTINATION)

    message = str(raised.value)
    assert f"log group {GROUP} has no free subscription filter slot" in message
    assert "siem -> arn:aws:lambda:eu-west-1:1:function:siem" in message
    assert "(AWS error code: LimitExceededException)" in message
    assert logs.filters[GROUP] == others
