"""A registered database's life seen by reconciliation (steps/lifecycle.py): its identity is its resource id."""

from datetime import UTC, datetime, timedelta
from typing import Any

from pgaudit_archiver.models import Source
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.steps.lifecycle import locate, ready_green, reboot_green
from pgaudit_archiver.steps.offboard import remove_subscription_filter
from pgaudit_archiver.steps.reconcile import Life, Verification, reconcile_source
from tests.unit.fakes import ACCOUNT, REGION, SOURCE, stack_settings
from tests.unit.test_steps_reconcile import GROUP, Pipeline, onboarded

OFFBOARD = "arn:aws:states:eu-west-1:123456789012:stateMachine:offboard"
RENAMED = Source(account_id=ACCOUNT, region=REGION, cluster_id="sales")


def reconcile(pipeline: Pipeline, auto_repair: bool = False, **settings: str) -> Verification:
    service = ClusterService(pipeline.registry, pipeline.stepfunctions, "arn:aws:states:::stateMachine:onboard",
                             OFFBOARD, ())  # fmt: skip
    life = Life(
        lambda recorded: locate(pipeline.rds, SOURCE, recorded),
        lambda old: remove_subscription_filter(pipeline.logs, stack_settings(), old).changes,
        lambda green, pgaudit_log: ready_green(pipeline.rds, SOURCE, green, pgaudit_log),
        lambda green: reboot_green(pipeline.rds, SOURCE, green),
    )
    return reconcile_source(SOURCE, stack_settings(OFFBOARD_STATE_MACHINE_ARN=OFFBOARD, **settings),
                            pipeline.registry, service, pipeline.find, auto_repair, life=life)  # fmt: skip


def started(pipeline: Pipeline, machine: str) -> list[dict[str, Any]]:
    return [e["input"] for arn, e in pipeline.stepfunctions.executions.items() if f":{machine}:" in arn]


def test_reconcile_records_the_resource_id_of_a_source_registered_without_it() -> None:
    pipeline = onboarded()
    assert "resource_id" not in pipeline.item()

    result = reconcile(pipeline)

    assert result.status == "active"
    assert (pipeline.item()["resource_id"], pipeline.item()["identifier"]) == ("cluster-ORDERS", "orders")


def test_reconcile_follows_a_renamed_database_to_its_new_name() -> None:
    pipeline = onboarded()
    reconcile(pipeline)  # the resource id recorded
    pipeline.registry.set_fields(SOURCE, {"original": {"parameter_group": "default.aurora-postgresql16"}})
    pipeline.rds.rename("orders", "sales")

    result = reconcile(pipeline)

    # The new name is onboarded with the same request; the old name is offboarded without touching any database.
    assert [i["cluster_id"] for i in started(pipeline, "onboard")] == ["sales"]
    assert started(pipeline, "offboard") == [{"account_id": ACCOUNT, "region": REGION, "cluster_id": "orders",
                                              "restore": False}]  # fmt: skip
    assert (result.status, result.drift) == ("offboarding", ())
    assert pipeline.item()["renamed_to"] == "sales"
    new = pipeline.registry.get(RENAMED)
    assert new is not None
    assert new["resource_id"] == "cluster-ORDERS"
    assert new["original"] == {"parameter_group": "default.aurora-postgresql16"}
    assert new["renamed_from"] == "orders"


def test_reconcile_finds_a_deleted_database_deleted_not_drifted_and_keeps_its_archive() -> None:
    pipeline = onboarded()
    reconcile(pipeline)
    pipeline.rds.clusters.pop("orders")

    result = reconcile(pipeline)
    again = reconcile(pipeline)

    assert (result.status, result.drift, again.status) == ("deleted", (), "deleted")
    assert pipeline.stepfunctions.executions == {}  # no repair, no offboarding within the grace period
    assert pipeline.item()["status"] == "deleted"
    assert pipeline.firehose.describe_stream("pgaudit-111122223333-orders") is not None


def test_reconcile_offboards_a_deleted_source_once_its_grace_period_is_over() -> None:
    pipeline = onboarded()
    reconcile(pipeline)
    pipeline.rds.clusters.pop("orders")
    reconcile(pipeline)
    long_ago = (datetime.now(tz=UTC) - timedelta(days=31)).isoformat(timespec="seconds")
    pipeline.registry.set_fields(SOURCE, {"deleted_at": long_ago})

    result = reconcile(pipeline, DELETED_SOURCE_GRACE_DAYS="30")

    assert result.status == "offboarding"
    assert started(pipeline, "offboard") == [{"account_id": ACCOUNT, "region": REGION, "cluster_id": "orders",
                                              "restore": False}]  # fmt: skip


def test_a_new_database_under_a_deleted_sources_name_is_not_that_source() -> None:
    pipeline = onboarded()
    reconcile(pipeline)
    restored = pipeline.rds.clusters.pop("orders")
    pipeline.rds.add_cluster("orders")
    pipeline.rds.clusters["orders"]["DbClusterResourceId"] = "cluster-RESTORED"
    assert restored["DbClusterResourceId"] == "cluster-ORDERS"

    result = reconcile(pipeline)

    assert result.status == "deleted"
    assert pipeline.item()["resource_id"] == "cluster-ORDERS"


def test_reconcile_follows_the_name_after_a_blue_green_switchover_and_clears_the_old_blue() -> None:
    pipeline = onboarded()
    reconcile(pipeline)
    # Switchover: the blue becomes orders-old1 (its log group, with our filter, follows the name) and the green
    # takes the name and the log group the filter is on.
    pipeline.rds.rename("orders", "orders-old1")
    pipeline.rds.add_cluster("orders", group="pgaudit-orders")
    pipeline.rds.clusters["orders"]["DbClusterResourceId"] = "cluster-GREEN"
    pipeline.rds.clusters["orders"]["EnabledCloudwatchLogsExports"] = ["postgresql"]
    old_group = "/aws/rds/cluster/orders-old1/postgresql"
    pipeline.logs.add_group(old_group)
    pipeline.logs.filters[old_group] = [dict(pipeline.logs.filters[GROUP][0], logGroupName=old_group)]

    result = reconcile(pipeline)

    assert (result.status, result.drift) == ("active", ())
    item = pipeline.item()
    assert item["resource_id"] == "cluster-GREEN"
    assert item["switched_over"]["old_blue"] == "orders-old1"
    assert item["switched_over"]["from_resource_id"] == "cluster-ORDERS"
    assert pipeline.logs.subscription_filters(old_group) == []
    assert pipeline.logs.subscription_filters(GROUP) != []


def blue_green(pipeline: Pipeline, green_group: str, **green: Any) -> None:
    """A blue/green deployment of `orders` whose green (not switched over) is on `green_group`."""
    pipeline.rds.add_cluster("orders-green-abc123", group=green_group, **green)
    pipeline.rds.blue_greens.append({
        "BlueGreenDeploymentIdentifier": "bgd-1", "Status": "AVAILABLE",
        "Source": pipeline.rds.clusters["orders"]["DBClusterArn"],
        "Target": pipeline.rds.clusters["orders-green-abc123"]["DBClusterArn"],
    })  # fmt: skip


def test_a_green_without_pgaudit_before_switchover_is_drift_for_its_owner_not_repaired() -> None:
    pipeline = onboarded()
    blue_green(pipeline, "default.aurora-postgresql16")

    result = reconcile(pipeline)

    assert [entry.kind for entry in result.drift] == ["green-pgaudit-not-preloaded"]
    assert result.status == "drifted"
    assert (
        "orders-green-abc123 does not preload pgaudit (group default.aurora-postgresql16, blue/green deployment "
        "bgd-1)" in pipeline.item()["last_verification"]["drift"][0]
    )
    assert pipeline.stepfunctions.executions == {}


def test_a_green_on_the_blues_pgaudit_group_is_no_drift() -> None:
    pipeline = onboarded()
    blue_green(pipeline, "pgaudit-orders")

    assert reconcile(pipeline).drift == ()


def test_a_source_without_a_recorded_resource_id_whose_name_is_gone_is_drift_cluster_missing() -> None:
    pipeline = onboarded()  # registered without a resource id, as before they were recorded
    pipeline.rds.clusters.pop("orders")

    result = reconcile(pipeline)

    assert result.status == "drifted"
    assert "cluster-missing" in [entry.kind for entry in result.drift]


GREEN = "orders-green-abc123"
GREEN_GROUP = "pgaudit-orders-aurora-postgresql17"  # the source's group of the green's family, as after an upgrade


def test_with_auto_repair_a_major_upgrade_green_gets_the_sources_group_of_its_family_then_waits_for_a_reboot() -> None:
    pipeline = onboarded()
    pipeline.rds.groups["pgaudit-orders"]["parameters"]["log_min_duration_statement"] = "500"  # the owner's setting
    blue_green(pipeline, "default.aurora-postgresql17", engine_version="17.2")

    result = reconcile(pipeline, auto_repair=True)

    green = pipeline.rds.clusters[GREEN]
    assert green["DBClusterParameterGroup"] == GREEN_GROUP
    parameters = pipeline.rds.groups[GREEN_GROUP]["parameters"]
    assert parameters["shared_preload_libraries"] == "pgaudit"
    assert parameters["log_min_duration_statement"] == "500"  # carried over from the blue's group
    assert pipeline.rds.clusters["orders"]["DBClusterParameterGroup"] == "pgaudit-orders"  # the blue untouched
    assert [entry.kind for entry in result.drift] == ["green-pgaudit-not-loaded"]
    assert result.status == "drifted"
    assert pipeline.stepfunctions.executions == {}  # no onboarding: the green is no source of its own
    message = pipeline.item()["last_verification"]["drift"][0]
    assert f"reboot it before the switchover: aws rds reboot-db-instance --db-instance-identifier {GREEN}-1" in message
    greens = pipeline.item()["last_verification"]["greens"]
    assert f"attached {GREEN_GROUP} to {GREEN}" in greens[0]["changes"]

    waiting = reconcile(pipeline, auto_repair=True)  # the next run: its group is ours, its reboot still owed
    pipeline.rds.reboot_instance(f"{GREEN}-1")  # the owner's reboot of the green
    again = reconcile(pipeline, auto_repair=True)

    assert [entry.kind for entry in waiting.drift] == ["green-pgaudit-not-loaded"]
    assert (again.status, again.drift) == ("active", ())


def test_a_green_on_its_owners_group_of_the_new_family_gets_a_copy_of_it_with_pgaudit() -> None:
    pipeline = onboarded()
    pipeline.rds.add_group("owners-17", {"work_mem": "65536"}, family="aurora-postgresql17")
    blue_green(pipeline, "owners-17", engine_version="17.2")

    reconcile(pipeline, auto_repair=True)

    assert pipeline.rds.clusters[GREEN]["DBClusterParameterGroup"] == GREEN_GROUP
    assert pipeline.rds.groups[GREEN_GROUP]["parameters"]["work_mem"] == "65536"
    assert pipeline.rds.groups["owners-17"]["parameters"] == {"work_mem": "65536"}  # the owner's group as it was


def test_a_green_without_the_owners_consent_tag_is_not_changed_even_with_auto_repair() -> None:
    pipeline = onboarded()
    blue_green(pipeline, "default.aurora-postgresql17", engine_version="17.2", consent=False)
    before = list(pipeline.rds.mutations)

    result = reconcile(pipeline, auto_repair=True)

    assert pipeline.rds.mutations == before  # no group made, nothing attached
    assert [entry.kind for entry in result.drift] == ["green-pgaudit-not-preloaded"]
    assert "is not tagged pgaudit-archiver=enabled" in pipeline.item()["last_verification"]["greens"][0]["not_prepared"]


def test_without_auto_repair_a_green_is_only_reported() -> None:
    pipeline = onboarded()
    blue_green(pipeline, "default.aurora-postgresql17", engine_version="17.2")
    before = list(pipeline.rds.mutations)

    result = reconcile(pipeline, auto_repair=False)

    assert pipeline.rds.mutations == before
    assert [entry.kind for entry in result.drift] == ["green-pgaudit-not-preloaded"]


def switched_over_with_the_old_blue_deleted(pipeline: Pipeline, old_blue: str = "orders-old1") -> None:
    """Switchover, then the owner deletes the old blue before a run: the name holds the green, and the deployment
    names the renamed old blue as its Source (DescribeBlueGreenDeployments after switchover)."""
    pipeline.rds.clusters.pop("orders")
    pipeline.rds.add_cluster("orders", group="pgaudit-orders")
    pipeline.rds.clusters["orders"]["DbClusterResourceId"] = "cluster-GREEN"
    pipeline.rds.clusters["orders"]["EnabledCloudwatchLogsExports"] = ["postgresql"]
    arn = pipeline.rds.clusters["orders"]["DBClusterArn"]
    pipeline.rds.blue_greens.append({"BlueGreenDeploymentIdentifier": "bgd-1", "Status": "SWITCHOVER_COMPLETED",
                                     "Source": arn.rsplit(":", 1)[0] + f":{old_blue}", "Target": arn})  # fmt: skip


def test_a_switchover_whose_old_blue_was_deleted_before_a_run_is_followed_not_deleted() -> None:
    pipeline = onboarded()
    reconcile(pipeline)  # the resource id recorded
    switched_over_with_the_old_blue_deleted(pipeline)

    result = reconcile(pipeline)

    assert (result.status, result.drift) == ("active", ())
    item = pipeline.item()
    assert (item["resource_id"], item["switched_over"]["old_blue"]) == ("cluster-GREEN", "orders-old1")
    assert "deleted_at" not in item


def test_a_switchover_from_another_databases_blue_does_not_make_the_deleted_source_follow_the_name() -> None:
    pipeline = onboarded()
    reconcile(pipeline)
    switched_over_with_the_old_blue_deleted(pipeline, old_blue="billing-old1")

    assert reconcile(pipeline).status == "deleted"


def test_with_the_immediate_reboot_policy_reconciliation_reboots_the_prepared_green_before_switchover() -> None:
    pipeline = onboarded(reboot="immediate")
    blue_green(pipeline, "default.aurora-postgresql17", engine_version="17.2")
    before = list(pipeline.rds.reboots)

    prepared = reconcile(pipeline, auto_repair=True)  # the green gets the source's group of its family
    rebooting = reconcile(pipeline, auto_repair=True)  # the next run reboots its waiting member
    done = reconcile(pipeline, auto_repair=True)

    assert [entry.kind for entry in prepared.drift] == ["green-pgaudit-not-loaded"]
    assert [entry.kind for entry in rebooting.drift] == ["green-pgaudit-not-loaded"]
    assert pipeline.rds.reboots[len(before) :] == [f"{GREEN}-1"]  # the green's member, once; never the blue's
    assert (done.status, done.drift) == ("active", ())


def test_with_the_deferred_reboot_policy_the_green_waits_for_its_owners_reboot() -> None:
    pipeline = onboarded(reboot="deferred")
    blue_green(pipeline, "default.aurora-postgresql17", engine_version="17.2")
    before = list(pipeline.rds.reboots)

    for _ in range(3):
        result = reconcile(pipeline, auto_repair=True)

    assert [entry.kind for entry in result.drift] == ["green-pgaudit-not-loaded"]
    assert pipeline.rds.reboots == before
