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


def test_callers_share_one_call_per_quarter_second(session) -> None:
    clock = Clock(1000.0)
    onboarding, another_onboarding = budget(session, clock, 4), budget(session, clock, 4)

    onboarding.take()
    assert clock.slept == []
    another_onboarding.take()  # the window 1000.00-1000.25 is taken: the next one
    assert 1000.25 <= clock.now < 1000.5 and another_onboarding.waits == 1


def test_no_second_ever_holds_more_than_five_calls_however_the_callers_arrive(session) -> None:
    clock = Clock(2000.9)  # near a second's edge, where fixed one-second windows let twice the rate through
    callers = [budget(session, clock, 4) for _ in range(6)]
    taken_at = []
    for _ in range(5):
        for caller in callers:
            caller.take()
            taken_at.append(clock.now)

    # AWS's token bucket: 5 tokens, 5 a second. Never more than 5 + 5*(b - a) calls in any interval [a, b].
    for i, start in enumerate(taken_at):
        for j in range(i, len(taken_at)):
            assert j - i + 1 <= 5 + 5 * (taken_at[j] - start)


def test_reconciliation_leaves_one_window_a_second_to_onboarding(session) -> None:
    clock = Clock(3000.0)
    reconciliation = budget(session, clock, 3)
    windows = []
    for _ in range(6):
        reconciliation.take()
        windows.append(int(clock.now * 4) % 4)

    assert 3 not in windows  # the last quarter of each second is onboarding's
    onboarding = budget(session, clock, 4)
    clock.now = 3010.80  # the onboarding-only quarter
    onboarding.take()
    assert onboarding.waits == 0


def test_no_slot_for_a_minute_fails_the_step_as_throttled(session) -> None:
    clock = Clock(4000.0)
    hog = budget(session, clock, 1)
    for window in range(4000 * 4, (4000 + int(MAX_WAIT_SECONDS) + 2) * 4):
        hog._taken(window)  # every window of the next minute already taken

    with pytest.raises(ThrottledError, match="no firehose-control-plane slot free for 60 s"):
        hog.take()
