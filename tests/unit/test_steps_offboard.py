"""The offboarding steps against in-memory fakes: ours removed, everyone else's kept, every step rerunnable."""

import pytest

from pgaudit_archiver.errors import InvalidRequestError, WaitTimeoutError
from pgaudit_archiver.models import OffboardRequest, StepResult
from pgaudit_archiver.naming import source_tags
from pgaudit_archiver.steps.destination_role import ensure_destination_role
from pgaudit_archiver.steps.offboard import (
    delete_delivery_stream,
    delete_destination,
    plan_offboarding,
    remove_subscription_filter,
    restore_cluster,
    summarize_offboarding,
)
from tests.unit.fakes import (
    ACCOUNT,
    DEFAULT_GROUP,
    SOURCE,
    FakeArchiveLogs,
    FakeFirehose,
    FakeIam,
    FakeLogs,
    FakeRds,
    FakeRegistry,
    FakeRoleHolders,
    stack_settings,
)

GROUP = "/aws/rds/cluster/orders/postgresql"
NAME = "pgaudit-111122223333-orders"
OURS = f"arn:aws:logs:eu-west-1:123456789012:destination:{NAME}"
ROLE = "pgaudit-dest-eu-west-1-111122223333"  # the account's, shared by its sources in the region
SOURCE_ROLE = "pgaudit-dest-eu-west-1-111122223333-orders"  # one source's own, made by earlier versions
STREAM_ARN = f"arn:aws:firehose:eu-west-1:123456789012:deliverystream/{NAME}"
LEGACY_ROLE = "pgaudit-dest-111122223333-orders"  # named by earlier versions, without the region
OFFBOARD = {"account_id": ACCOUNT, "region": "eu-west-1", "cluster_id": "orders", "restore": True}


def onboarded_rds() -> FakeRds:
    rds = FakeRds()
    rds.add_cluster("orders")
    rds.add_group(
        "pgaudit-orders", {"shared_preload_libraries": "pgaudit"}, f"pgaudit-archiver: orders, based on {DEFAULT_GROUP}"
    )
    rds.attach_parameter_group("orders", "pgaudit-orders")
    rds.enable_log_export("orders", "postgresql")
    rds.mutations.clear()
    return rds


def restore_to_end(rds: FakeRds, original: str | None) -> StepResult:
    result = restore_cluster(rds, SOURCE, original, (), 0, 10)
    while not result.ready:
        result = restore_cluster(rds, SOURCE, original, result.changes, result.polls, 10)
    return result


def test_plan_offboarding_reads_the_original_group_from_the_registry() -> None:
    registry = FakeRegistry()
    registry.finish(SOURCE, "active", {}, keep_first={"original": {"parameter_group": "owners"}})

    plan = plan_offboarding(OFFBOARD, stack_settings(), registry)

    assert plan.original_parameter_group == "owners"
    assert plan.request.restore


def test_plan_offboarding_invalid_request_names_the_field() -> None:
    with pytest.raises(InvalidRequestError, match="invalid offboarding request: account_id has an invalid format"):
        plan_offboarding({**OFFBOARD, "account_id": "1111"}, stack_settings(), FakeRegistry())


def test_remove_subscription_filter_removes_ours_and_keeps_the_others() -> None:
    logs = FakeLogs()
    logs.add_group(GROUP)
    logs.filters[GROUP] = [
        {"filterName": "pgaudit-archiver", "destinationArn": OURS},
        {"filterName": "siem", "destinationArn": "arn:aws:lambda:eu-west-1:1:function:siem"},
    ]

    result = remove_subscription_filter(logs, stack_settings(), SOURCE)

    assert result.changes == (f"removed subscription filter pgaudit-archiver from {GROUP}",)
    assert [f["filterName"] for f in logs.filters[GROUP]] == ["siem"]


def test_remove_subscription_filter_second_call_changes_nothing() -> None:
    logs = FakeLogs()
    logs.add_group(GROUP)
    logs.filters[GROUP] = [{"filterName": "pgaudit-archiver", "destinationArn": OURS}]
    remove_subscription_filter(logs, stack_settings(), SOURCE)
    logs.mutations.clear()

    assert remove_subscription_filter(logs, stack_settings(), SOURCE).changes == ()
    assert remove_subscription_filter(FakeLogs(), stack_settings(), SOURCE).changes == ()  # no group at all
    assert logs.mutations == []


def test_restore_cluster_disables_the_export_then_reattaches_the_original_then_deletes_ours() -> None:
    rds = onboarded_rds()
    rds.add_group("owners-group-that-was-there")

    result = restore_to_end(rds, "owners-group-that-was-there")

    assert result.changes == (
        "disabled the postgresql log export of orders",
        "re-attached owners-group-that-was-there to orders; pgaudit unloads at the instances' next reboot",
        "deleted parameter group pgaudit-orders",
    )
    assert rds.clusters["orders"]["DBClusterParameterGroup"] == "owners-group-that-was-there"
    assert "pgaudit-orders" not in rds.groups


def test_restore_cluster_unknown_original_is_read_from_our_groups_description() -> None:
    rds = onboarded_rds()
    restore_to_end(rds, None)
    assert rds.clusters["orders"]["DBClusterParameterGroup"] == DEFAULT_GROUP


def test_restore_cluster_second_call_changes_nothing() -> None:
    rds = onboarded_rds()
    restore_to_end(rds, DEFAULT_GROUP)
    rds.mutations.clear()

    again = restore_to_end(rds, DEFAULT_GROUP)

    assert again.changes == ()
    assert rds.mutations == []


def test_restore_cluster_busy_cluster_is_waited_for_then_times_out() -> None:
    rds = onboarded_rds()
    rds.clusters["orders"]["Status"] = "modifying"
    assert restore_cluster(rds, SOURCE, None, (), 0, 2).polls == 1
    with pytest.raises(WaitTimeoutError, match="the cluster stayed modifying for 2 polls"):
        restore_cluster(rds, SOURCE, None, (), 2, 2)
    assert rds.mutations == []


def test_restore_cluster_deleted_cluster_has_nothing_to_restore() -> None:
    result = restore_cluster(FakeRds(), SOURCE, None, (), 0, 2)
    assert result.changes == ("cluster orders no longer exists: nothing to restore",)


def test_delete_destination_of_the_accounts_last_source_deletes_destination_and_role_then_nothing_more() -> None:
    logs, iam, holders = FakeArchiveLogs(), FakeIam(), FakeRoleHolders()
    role_arn = ensure_destination_role(iam, holders, stack_settings(), SOURCE, STREAM_ARN).resources[
        "destination_role_arn"]  # fmt: skip
    logs.put_destination(NAME, STREAM_ARN, role_arn, None)
    logs.mutations.clear()
    iam.mutations.clear()

    assert delete_destination(logs, iam, holders, stack_settings(), SOURCE).changes == (
        f"deleted destination {NAME}",
        f"deleted role {ROLE}, the last source of account {ACCOUNT} in eu-west-1 being offboarded",
    )
    assert (logs.destinations, iam.roles) == ({}, {})
    assert delete_destination(logs, iam, holders, stack_settings(), SOURCE).changes == ()
    assert len(logs.mutations) == len(iam.mutations) == 1


def test_delete_destination_of_a_source_onboarded_with_its_own_role_deletes_that_role() -> None:
    logs, iam = FakeArchiveLogs(), FakeIam()
    logs.put_destination(NAME, STREAM_ARN, f"arn:aws:iam::123456789012:role/pgaudit-archiver/{SOURCE_ROLE}", None)
    trust = {"Statement": [{"Principal": {"Service": "logs.eu-west-1.amazonaws.com"}}]}
    iam.create_role(SOURCE_ROLE, "/pgaudit-archiver/", trust, "arn:boundary", "", source_tags(SOURCE))

    assert delete_destination(logs, iam, FakeRoleHolders(), stack_settings(), SOURCE).changes == (
        f"deleted destination {NAME}",
        f"deleted role {SOURCE_ROLE}, the source's own before roles were shared by the account",
    )
    assert iam.roles == {}


def legacy_role(iam: FakeIam, trusted_region: str, created_for: str = "eu-west-1") -> None:
    trust = {"Statement": [{"Principal": {"Service": f"logs.{trusted_region}.amazonaws.com"}}]}
    tags = {"pgaudit-archiver:managed": "true", "pgaudit-archiver:source-region": created_for}
    iam.create_role(LEGACY_ROLE, "/pgaudit-archiver/", trust, "arn:boundary", "", tags)


def test_delete_destination_of_a_source_onboarded_before_names_carried_the_region_deletes_its_legacy_role() -> None:
    logs, iam = FakeArchiveLogs(), FakeIam()
    logs.put_destination(NAME, "arn:stream", f"arn:aws:iam::123456789012:role/pgaudit-archiver/{LEGACY_ROLE}", None)
    legacy_role(iam, "eu-west-1")

    changes = delete_destination(logs, iam, FakeRoleHolders(), stack_settings(), SOURCE).changes

    assert changes == (
        f"deleted destination {NAME}",
        f"deleted role {LEGACY_ROLE}, named before role names carried the region",
    )
    assert iam.roles == {}


@pytest.mark.parametrize(
    ("trusted", "created_for"),
    [("us-east-1", "us-east-1"), ("us-east-1", "eu-west-1"), ("eu-west-1", "us-east-1")],
    ids=["another-regions", "rewritten-by-another-region", "created-by-another-region"],
)
def test_delete_destination_keeps_a_legacy_role_another_region_may_deliver_with(trusted, created_for) -> None:
    logs, iam = FakeArchiveLogs(), FakeIam()
    legacy_role(iam, trusted, created_for)

    assert delete_destination(logs, iam, FakeRoleHolders(), stack_settings(), SOURCE).changes == ()
    assert list(iam.roles) == [LEGACY_ROLE]


def test_delete_delivery_stream_keeps_archived_objects_and_a_rerun_changes_nothing() -> None:
    firehose = FakeFirehose()
    firehose.create_stream(NAME, {}, {})

    assert delete_delivery_stream(firehose, SOURCE).changes == (
        f"deleted delivery stream {NAME} (its archived objects stay)",
    )
    firehose.mutations.clear()
    assert delete_delivery_stream(firehose, SOURCE).changes == ()
    assert firehose.mutations == []


def test_delete_delivery_stream_already_deleting_is_not_deleted_again() -> None:
    firehose = FakeFirehose()
    firehose.create_stream(NAME, {}, {})
    firehose.streams[NAME]["DeliveryStreamStatus"] = "DELETING"
    firehose.mutations.clear()

    assert delete_delivery_stream(firehose, SOURCE).changes == (f"delivery stream {NAME} is already DELETING",)
    assert firehose.mutations == []


def test_summarize_offboarding_records_offboarded_with_every_change() -> None:
    registry = FakeRegistry()
    request = OffboardRequest.model_validate(OFFBOARD)
    steps = [StepResult(changes=("a",)), StepResult(), StepResult(changes=("b", "c"))]

    summary = summarize_offboarding(registry, request, steps)

    assert (summary.status, summary.changes) == ("offboarded", ("a", "b", "c"))
    item = registry.get(SOURCE)
    assert item is not None
    assert (item["status"], item["last_changes"], item["resources"]) == ("offboarded", ["a", "b", "c"], {})


def test_remove_subscription_filter_without_the_owners_consent_names_the_command_and_changes_nothing() -> None:
    logs = FakeLogs()
    logs.add_group(GROUP, consent=False)  # the owner took the tag back
    logs.filters[GROUP] = [{"filterName": "pgaudit-archiver", "destinationArn": OURS}]

    result = remove_subscription_filter(logs, stack_settings(), SOURCE)

    assert result.changes == (
        f"left for the owner, who withdrew consent from {GROUP}: aws logs delete-subscription-filter "
        f"--region eu-west-1 --log-group-name {GROUP} --filter-name pgaudit-archiver",
    )
    assert logs.mutations == [] and len(logs.filters[GROUP]) == 1


def test_restore_cluster_without_the_owners_consent_changes_nothing_and_says_so() -> None:
    rds = onboarded_rds()
    rds.clusters["orders"]["TagList"] = []

    result = restore_to_end(rds, DEFAULT_GROUP)

    assert result.changes[0].startswith("left for the owner, who withdrew consent from orders")
    assert rds.mutations == [] and rds.clusters["orders"]["DBClusterParameterGroup"] == "pgaudit-orders"


def test_restore_cluster_after_a_major_upgrade_attaches_the_new_familys_default_and_says_why() -> None:
    rds = onboarded_rds()  # onboarded on 16 from its default group
    ours_17 = "pgaudit-orders-aurora-postgresql17"
    based_on = "pgaudit-archiver: orders, based on default.aurora-postgresql17"
    rds.add_group(ours_17, {"shared_preload_libraries": "pgaudit"}, based_on, family="aurora-postgresql17")
    rds.upgrade("orders", "17.2", "pgaudit-orders-aurora-postgresql17")

    result = restore_to_end(rds, DEFAULT_GROUP)

    assert result.changes[1] == (
        f"re-attached default.aurora-postgresql17 to orders instead of {DEFAULT_GROUP}, which is of family "
        "aurora-postgresql16; pgaudit unloads at the instances' next reboot"
    )
    assert rds.clusters["orders"]["DBClusterParameterGroup"] == "default.aurora-postgresql17"
    assert "pgaudit-orders" not in rds.groups and "pgaudit-orders-aurora-postgresql17" not in rds.groups
