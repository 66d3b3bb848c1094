"""The Firehose control-plane budget every function shares: slots per second in DynamoDB, waiting when taken."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from pgaudit_archiver.aws.rate_budget import MAX_WAIT_SECONDS, RateBudget
from pgaudit_archiver.errors import ThrottledError


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def session():
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b")
        session.client("dynamodb").create_table(
            TableName="budget",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield session


def budget(session: boto3.Session, clock: Clock, per_second: int) -> RateBudget:
    return RateBudget(session, "budget", "firehose-control-plane", per_second, clock=clock, sleep=clock.sleep)


def test_callers_share_the_slots_of_a_second_and_wait_for_the_next(session) -> None:
    clock = Clock(1000.25)
    onboarding, another_onboarding = budget(session, clock, 4), budget(session, clock, 4)

    for caller in (onboarding, another_onboarding, onboarding, another_onboarding):
        caller.take()
    assert clock.now == 1000.25 and clock.slept == []  # four slots in second 1000

    onboarding.take()  # the fifth waits for second 1001
    assert 1001 <= clock.now < 1001.25 and onboarding.waits == 1


def test_a_lower_ceiling_stops_before_a_higher_one(session) -> None:
    clock = Clock(2000.0)
    reconciliation, onboarding = budget(session, clock, 3), budget(session, clock, 4)
    for _ in range(3):
        reconciliation.take()

    onboarding.take()  # the fourth slot is onboarding's alone
    assert clock.slept == []
    reconciliation.take()
    assert reconciliation.waits == 1 and clock.now >= 2001


def test_no_slot_for_a_minute_fails_the_step_as_throttled(session) -> None:
    clock = Clock(3000.0)
    hog = budget(session, clock, 1)
    for second in range(3000, 3000 + int(MAX_WAIT_SECONDS) + 2):
        hog._taken(second)  # every second of the next minute already taken

    with pytest.raises(ThrottledError, match="no firehose-control-plane slot free for 60 s"):
        hog.take()
