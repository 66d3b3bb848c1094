"""Ensure Destination Role against an in-memory IAM."""

from pgaudit_archiver.naming import source_tags
from pgaudit_archiver.steps.destination_role import (
    POLICY_NAME,
    ensure_destination_role,
    permissions_policy,
    retire_legacy_role,
    trust_policy,
)
from tests.unit.fakes import SOURCE, FakeIam, stack_settings

ROLE = "pgaudit-dest-eu-west-1-111122223333-orders"
STREAM_ARN = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/pgaudit-111122223333-orders"


def test_ensure_destination_role_new_source_creates_the_role_under_the_boundary() -> None:
    iam = FakeIam()

    result = ensure_destination_role(iam, stack_settings(), SOURCE, STREAM_ARN)

    assert result.changes == (f"created role {ROLE}", f"set policy {POLICY_NAME} on {ROLE}")
    assert result.fresh
    assert result.resources["destination_role_arn"] == f"arn:aws:iam::123456789012:role/pgaudit-archiver/{ROLE}"
    role = iam.roles[ROLE]
    assert role["boundary"].endswith(":policy/pgaudit-archiver-boundary")
    assert role["policies"][POLICY_NAME]["Statement"][0]["Resource"] == STREAM_ARN


def test_ensure_destination_role_trusts_logs_only_for_the_source_and_archive_accounts() -> None:
    iam = FakeIam()
    ensure_destination_role(iam, stack_settings(), SOURCE, STREAM_ARN)
    [statement] = iam.roles[ROLE]["trust"]["Statement"]
    assert statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert statement["Condition"]["StringLike"]["aws:SourceArn"] == [
        "arn:aws:logs:eu-west-1:111122223333:*",
        "arn:aws:logs:eu-west-1:123456789012:*",
    ]


def test_ensure_destination_role_second_call_changes_nothing() -> None:
    iam = FakeIam()
    ensure_destination_role(iam, stack_settings(), SOURCE, STREAM_ARN)
    iam.mutations.clear()

    again = ensure_destination_role(iam, stack_settings(), SOURCE, STREAM_ARN)

    assert again.changes == ()
    assert not again.fresh  # usable now: Ensure Destination need not wait for IAM
    assert iam.mutations == []


def test_ensure_destination_role_loosened_trust_is_tightened_again() -> None:
    iam = FakeIam()
    ensure_destination_role(iam, stack_settings(), SOURCE, STREAM_ARN)
    iam.roles[ROLE]["trust"]["Statement"][0].pop("Condition")

    again = ensure_destination_role(iam, stack_settings(), SOURCE, STREAM_ARN)

    assert again.changes == (f"updated the trust policy of {ROLE}",)
    assert again.fresh
    assert "Condition" in iam.roles[ROLE]["trust"]["Statement"][0]


def test_ensure_destination_role_policy_for_another_stream_is_replaced() -> None:
    iam = FakeIam()
    ensure_destination_role(iam, stack_settings(), SOURCE, STREAM_ARN)
    iam.roles[ROLE]["policies"][POLICY_NAME] = permissions_policy("arn:aws:firehose:eu-west-1:1:deliverystream/x")

    again = ensure_destination_role(iam, stack_settings(), SOURCE, STREAM_ARN)

    assert again.changes == (f"set policy {POLICY_NAME} on {ROLE}",)
    assert iam.roles[ROLE]["policies"][POLICY_NAME] == permissions_policy(STREAM_ARN)


LEGACY_ROLE = "pgaudit-dest-111122223333-orders"  # named by earlier versions, without the region


def test_retire_legacy_role_deletes_the_one_this_region_created_and_alone_trusts() -> None:
    iam = FakeIam()
    ensure_destination_role(iam, stack_settings(), SOURCE, STREAM_ARN)
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
