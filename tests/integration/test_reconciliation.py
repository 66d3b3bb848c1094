"""Reconciliation finds drift made by hand and repairs it (AutoRepair) or reports it (drifted)."""

import pytest

from local import SOURCE_ACCOUNT, World
from tests.integration.helpers import CLEAN_RUN

GROUP = "/aws/rds/cluster/orders/postgresql"


def onboarded(world):
    world.create_cluster("orders", instances=1)
    assert world.onboard(world.request("orders", reboot="immediate")).status == "SUCCEEDED"
    return world


def test_nothing_drifted_reports_active(world):
    onboarded(world)
    execution = world.reconcile()
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == CLEAN_RUN
    assert world.registry_item("orders")["last_verification"]["drift"] == []


def test_deleted_subscription_filter_is_found_and_repaired(world):
    onboarded(world)
    world.client("logs", SOURCE_ACCOUNT).delete_subscription_filter(logGroupName=GROUP, filterName="pgaudit-archiver")

    execution = world.reconcile()

    assert execution.output["repairing"] == 1
    item = world.registry_item("orders")
    assert item["last_verification"]["drift"] == [f"subscription filter pgaudit-archiver is missing from {GROUP}"]
    assert world.wait(item["last_verification"]["repair"]).status == "SUCCEEDED"
    filters = world.client("logs", SOURCE_ACCOUNT).describe_subscription_filters(logGroupName=GROUP)
    assert [f["filterName"] for f in filters["subscriptionFilters"]] == ["pgaudit-archiver"]
    assert world.registry_item("orders")["status"] == "active"


def test_disabled_export_is_reported_as_drifted_when_repair_is_off():
    with World(parameters={"AutoRepair": "false"}) as world:
        onboarded(world)
        world.client("rds", SOURCE_ACCOUNT).modify_db_cluster(
            DBClusterIdentifier="orders", CloudwatchLogsExportConfiguration={"DisableLogTypes": ["postgresql"]}
        )

        execution = world.reconcile()

        assert execution.output["drifted"] == 1
        item = world.registry_item("orders")
        assert item["status"] == "drifted"
        assert item["last_verification"]["drift"] == ["the postgresql log export is off"]
        cluster = world.client("rds", SOURCE_ACCOUNT).describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][
            0
        ]
        assert cluster["EnabledCloudwatchLogsExports"] == []  # reported, not touched


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (lambda w: w.client("logs").put_destination_policy(destinationName="pgaudit-111122223333-orders",
                                                           accessPolicy='{"Version": "2012-10-17", "Statement": []}'),
         "the access policy of destination pgaudit-111122223333-orders was changed"),
        (lambda w: w.client("firehose").delete_delivery_stream(DeliveryStreamName="pgaudit-111122223333-orders"),
         "delivery stream pgaudit-111122223333-orders is missing"),
    ],
)  # fmt: skip
def test_archive_side_drift_is_found(tamper, expected):
    with World(parameters={"AutoRepair": "false"}) as world:
        onboarded(world)
        tamper(world)
        world.reconcile()
        assert expected in world.registry_item("orders")["last_verification"]["drift"]


def test_verify_route_checks_one_cluster_for_its_owner(world):
    onboarded(world)
    response = world.api("POST", f"/clusters/{SOURCE_ACCOUNT}/eu-west-1/orders/verify", caller_account=SOURCE_ACCOUNT)
    assert response.status == 202, response.body
    assert world.wait(response.body["execution_arn"]).output["checked"] == 1
    denied = world.api("POST", f"/clusters/{SOURCE_ACCOUNT}/eu-west-1/orders/verify", caller_account="444455556666")
    assert denied.status == 403


def test_writer_db_parameter_group_dropping_pgaudit_is_drift_left_to_its_owner(world):
    # AutoRepair is on (the default), yet no repair starts: onboarding would stop on the owner's group.
    onboarded(world)
    rds = world.client("rds", SOURCE_ACCOUNT)
    rds.create_db_parameter_group(
        DBParameterGroupName="writer-group", DBParameterGroupFamily="aurora-postgresql15", Description="owner's"
    )
    rds.modify_db_parameter_group(
        DBParameterGroupName="writer-group",
        Parameters=[
            {"ParameterName": "shared_preload_libraries", "ParameterValue": "pg_stat_statements",
             "ApplyMethod": "pending-reboot"}
        ],
    )  # fmt: skip
    rds.modify_db_instance(DBInstanceIdentifier="orders-instance-1", DBParameterGroupName="writer-group")

    execution = world.reconcile()

    assert execution.output["drifted"] == 1
    item = world.registry_item("orders")
    assert item["status"] == "drifted"
    assert item["last_verification"]["drift"] == [
        "DB parameter group writer-group of instance orders-instance-1 overrides shared_preload_libraries without "
        "pgaudit ('pg_stat_statements')"
    ]
    assert "repair" not in item["last_verification"]
