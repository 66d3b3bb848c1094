"""Ensure Destination Role against in-memory IAM and role holders: one role per source account and region."""

import pytest

from pgaudit_archiver.errors import RoleNotReadyError
from pgaudit_archiver.models import Source
from pgaudit_archiver.naming import source_tags
from pgaudit_archiver.steps.destination_role import (
    POLICY_NAME,
    ensure_destination_role,
    permissions_policy,
    release_destination_role,
    retire_legacy_role,
    retire_source_role,
    trust_policy,
)
from tests.unit.fakes import SOURCE, FakeArchiveLogs, FakeIam, FakeRoleHolders, stack_settings

ROLE = "pgaudit-dest-eu-west-1-111122223333"
ROLE_ARN = f"arn:aws:iam::123456789012:role/pgaudit-archiver/{ROLE}"
SOURCE_ROLE = "pgaudit-dest-eu-west-1-111122223333-orders"  # the role per source of earlier versions
STREAM_ARN = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/pgaudit-111122223333-orders"
ACCOUNT_STREAMS = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/pgaudit-111122223333-*"
OTHER = Source(account_id="111122223333", region="eu-west-1", cluster_id="billing")
OTHER_STREAM_ARN = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/pgaudit-111122223333-billing"


def ensure(iam: FakeIam, holders: FakeRoleHolders | None = None, source: Source = SOURCE, stream: str = STREAM_ARN):
    return ensure_destination_role(iam, holders or FakeRoleHolders(), stack_settings(), source, stream)


def test_ensure_destination_role_new_account_creates_the_role_under_the_boundary() -> None:
    iam = FakeIam()

    result = ensure(iam)

    assert result.changes == (f"created role {ROLE}", f"set policy {POLICY_NAME} on {ROLE}")
    assert result.fresh
    assert result.resources["destination_role_arn"] == ROLE_ARN
    role = iam.roles[ROLE]
    assert role["boundary"].endswith(":policy/pgaudit-archiver-boundary")
    assert role["policies"][POLICY_NAME]["Statement"][0]["Resource"] == ACCOUNT_STREAMS
    assert "pgaudit-archiver:source-cluster" not in role["tags"]  # the account's, not one cluster's


def test_ensure_destination_role_second_source_of_the_account_shares_the_role_unchanged() -> None:
    iam, holders = FakeIam(), FakeRoleHolders()
    ensure(iam, holders)
    iam.mutations.clear()

    second = ensure(iam, holders, OTHER, OTHER_STREAM_ARN)

    assert second.resources["destination_role_arn"] == ROLE_ARN
    assert (second.changes, second.fresh, iam.mutations) == ((), False, [])
    assert list(iam.roles) == [ROLE]


def test_ensure_destination_role_trusts_logs_for_the_source_account_and_its_destinations_only() -> None:
    iam = FakeIam()
    ensure(iam)
    [statement] = iam.roles[ROLE]["trust"]["Statement"]
    assert statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert statement["Condition"]["StringLike"]["aws:SourceArn"] == [
        "arn:aws:logs:eu-west-1:111122223333:*",
        "arn:aws:logs:eu-west-1:123456789012:destination:pgaudit-111122223333-*",
    ]


def test_ensure_destination_role_second_call_changes_nothing() -> None:
    iam = FakeIam()
    ensure(iam)
    iam.mutations.clear()

    again = ensure(iam)

    assert again.changes == ()
    assert not again.fresh  # usable now: Ensure Destination need not wait for IAM
    assert iam.mutations == []


def test_ensure_destination_role_loosened_trust_is_tightened_again() -> None:
    iam = FakeIam()
    ensure(iam)
    iam.roles[ROLE]["trust"]["Statement"][0].pop("Condition")

    again = ensure(iam)

    assert again.changes == (f"updated the trust policy of {ROLE}",)
    assert again.fresh
    assert "Condition" in iam.roles[ROLE]["trust"]["Statement"][0]


def test_ensure_destination_role_policy_for_other_streams_is_replaced() -> None:
    iam = FakeIam()
    ensure(iam)
    iam.roles[ROLE]["policies"][POLICY_NAME] = permissions_policy("arn:aws:firehose:eu-west-1:1:deliverystream/x")

    again = ensure(iam)

    assert again.changes == (f"set policy {POLICY_NAME} on {ROLE}",)
    assert iam.roles[ROLE]["policies"][POLICY_NAME] == permissions_policy(ACCOUNT_STREAMS)


def test_ensure_destination_role_while_an_offboarding_deletes_it_waits() -> None:
    iam, holders = FakeIam(), FakeRoleHolders()
    ensure(iam, holders, OTHER, OTHER_STREAM_ARN)
    assert holders.leave("111122223333", "eu-west-1", "111122223333#eu-west-1#billing")  # retiring now

    with pytest.raises(RoleNotReadyError, match="being deleted"):
        ensure(iam, holders)


def per_source_role(iam: FakeIam, source: Source = SOURCE, region: str = "eu-west-1") -> None:
    """What earlier versions created for one source: trusting both accounts' CloudWatch Logs of the region."""
    trust = {"Statement": [{"Principal": {"Service": f"logs.{region}.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(SOURCE_ROLE, "/pgaudit-archiver/", trust, "arn:boundary", "", source_tags(source))


def test_retire_source_role_deletes_the_role_made_for_this_source_alone() -> None:
    iam = FakeIam()
    ensure(iam)
    per_source_role(iam)

    assert retire_source_role(iam, stack_settings(), SOURCE) == (
        f"deleted role {SOURCE_ROLE}, the source's own before roles were shared by the account",
    )
    assert list(iam.roles) == [ROLE]
    assert retire_source_role(iam, stack_settings(), SOURCE) == ()


@pytest.mark.parametrize(
    "change",
    [
        lambda role: role["tags"].update({"pgaudit-archiver:source-cluster": "billing"}),
        lambda role: role["tags"].pop("pgaudit-archiver:managed"),
        lambda role: role["trust"]["Statement"][0]["Principal"].update(Service="logs.us-east-1.amazonaws.com"),
    ],
    ids=["another-cluster", "not-the-products", "trusted-by-another-region"],
)
def test_retire_source_role_keeps_a_role_that_is_not_this_sources_alone(change) -> None:
    iam = FakeIam()
    per_source_role(iam)
    change(iam.roles[SOURCE_ROLE])

    assert retire_source_role(iam, stack_settings(), SOURCE) == ()
    assert SOURCE_ROLE in iam.roles


def test_release_destination_role_keeps_it_while_another_source_of_the_account_holds_it() -> None:
    iam, holders, logs = FakeIam(), FakeRoleHolders(), FakeArchiveLogs()
    ensure(iam, holders)
    ensure(iam, holders, OTHER, OTHER_STREAM_ARN)

    assert release_destination_role(iam, holders, logs, stack_settings(), SOURCE) == ()
    assert ROLE in iam.roles
    assert release_destination_role(iam, holders, logs, stack_settings(), OTHER) == (
        f"deleted role {ROLE}, the last source of account 111122223333 in eu-west-1 being offboarded",
    )
    assert iam.roles == {}
    assert holders.items == {}  # the retirement mark goes with the role: the next onboarding may create it again


def test_release_destination_role_keeps_it_while_a_destination_of_the_account_delivers_with_it() -> None:
    iam, holders, logs = FakeIam(), FakeRoleHolders(), FakeArchiveLogs()
    ensure(iam, holders)
    logs.put_destination("pgaudit-111122223333-billing", OTHER_STREAM_ARN, ROLE_ARN, None)  # not counted as holder

    assert release_destination_role(iam, holders, logs, stack_settings(), SOURCE) == (
        f"kept role {ROLE}: destination pgaudit-111122223333-billing still delivers with it",
    )
    assert ROLE in iam.roles


LEGACY_ROLE = "pgaudit-dest-111122223333-orders"  # named by the first versions, without the region


def test_retire_legacy_role_deletes_the_one_this_region_created_and_alone_trusts() -> None:
    iam = FakeIam()
    ensure(iam)
    trust = trust_policy(stack_settings(), SOURCE)
    iam.create_role(LEGACY_ROLE, "/pgaudit-archiver/", trust, "arn:boundary", "", source_tags(SOURCE))

    assert retire_legacy_role(iam, stack_settings(), SOURCE) == (
        f"deleted role {LEGACY_ROLE}, named before role names carried the region",
    )
    assert list(iam.roles) == [ROLE]
    assert retire_legacy_role(iam, stack_settings(), SOURCE) == ()


def test_retire_legacy_role_keeps_a_role_that_is_not_the_products() -> None:
    iam = FakeIam()
    trust = trust_policy(stack_settings(), SOURCE)
    iam.create_role(LEGACY_ROLE, "/", trust, "arn:boundary", "", {})

    assert retire_legacy_role(iam, stack_settings(), SOURCE) == ()
    assert list(iam.roles) == [LEGACY_ROLE]
