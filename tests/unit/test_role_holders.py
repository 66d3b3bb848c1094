"""The holders of an account's shared destination role, on DynamoDB (moto): the conditional writes that keep an
offboarding from deleting the role under an onboarding of the same account."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from pgaudit_archiver.aws.role_holders import RETIREMENT_LEASE_SECONDS, RoleHolders

ACCOUNT, REGION = "111122223333", "eu-west-1"
ORDERS, BILLING = f"{ACCOUNT}#{REGION}#orders", f"{ACCOUNT}#{REGION}#billing"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def holders(clock: Clock):
    with mock_aws():
        session = boto3.Session(region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b")
        session.client("dynamodb").create_table(
            TableName="budget",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield RoleHolders(session, "budget", clock=clock)


def test_the_last_holder_leaving_may_retire_the_role_and_others_may_not(holders: RoleHolders) -> None:
    assert holders.join(ACCOUNT, REGION, ORDERS) and holders.join(ACCOUNT, REGION, BILLING)

    assert not holders.leave(ACCOUNT, REGION, ORDERS)  # billing still holds it
    assert holders.leave(ACCOUNT, REGION, BILLING)


def test_no_source_joins_while_the_role_is_being_retired(holders: RoleHolders) -> None:
    holders.join(ACCOUNT, REGION, ORDERS)
    assert holders.leave(ACCOUNT, REGION, ORDERS)

    assert not holders.join(ACCOUNT, REGION, BILLING)
    holders.retired(ACCOUNT, REGION, ORDERS)
    assert holders.join(ACCOUNT, REGION, BILLING)  # and its onboarding creates the role again


def test_a_retirement_mark_left_by_a_crashed_offboarding_lapses(holders: RoleHolders, clock: Clock) -> None:
    holders.join(ACCOUNT, REGION, ORDERS)
    assert holders.leave(ACCOUNT, REGION, ORDERS)  # and never calls retired()

    clock.now += RETIREMENT_LEASE_SECONDS + 1

    assert holders.join(ACCOUNT, REGION, BILLING)


def test_a_rerun_of_the_offboarding_that_holds_the_mark_may_retire_again(holders: RoleHolders) -> None:
    holders.join(ACCOUNT, REGION, ORDERS)
    assert holders.leave(ACCOUNT, REGION, ORDERS)

    assert holders.leave(ACCOUNT, REGION, ORDERS)  # the step retried after deleting the role but before retired()
    assert not holders.leave(ACCOUNT, REGION, BILLING)  # someone else's offboarding waits for the mark to go


def test_retired_keeps_the_item_of_a_source_that_joined_after_a_lapsed_mark(holders: RoleHolders, clock) -> None:
    holders.join(ACCOUNT, REGION, ORDERS)
    assert holders.leave(ACCOUNT, REGION, ORDERS)
    clock.now += RETIREMENT_LEASE_SECONDS + 1
    holders.join(ACCOUNT, REGION, BILLING)

    holders.retired(ACCOUNT, REGION, ORDERS)

    assert not holders.leave(ACCOUNT, REGION, ORDERS)  # billing is still counted
