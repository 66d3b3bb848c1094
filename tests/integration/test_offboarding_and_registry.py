"""Offboarding and the registry, on the two-account emulation."""

import time

import boto3

from local import SOURCE_ACCOUNT
from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.models import Source
from pgaudit_archiver.status import SourceStatus
from tests.integration.helpers import foreign_function

OFFBOARDED_STATES = [
    "Register Execution",
    "Validate Offboarding",
    "Remove Subscription Filter",
    "Restore Requested?",
    "Start Restore",
    "Restore Cluster",
    "Cluster Restored?",
    "Wait For Restore",
    "Restore Cluster",
    "Cluster Restored?",
    "Wait For Restore",
    "Restore Cluster",
    "Cluster Restored?",
    "Wait For Flush",
    "Delete Destination",
    "Delete Delivery Stream",
    "Summarize Offboarding",
    "Offboarding Succeeded",
]


def test_registry_follows_an_onboarding(world):
    world.create_cluster("orders")
    execution = world.onboard(world.request("orders"))

    item = world.registry_item("orders")
    assert item["status"] == "pending-reboot"
    assert item["execution_arn"] == execution.arn
    assert item["console_url"].endswith(f"#/v2/executions/details/{execution.arn}")
    assert item["resources"]["delivery_stream_arn"].endswith("deliverystream/pgaudit-111122223333-orders")
    assert item["original"] == {
        "parameter_group": "default.aurora-postgresql15",
        "shared_preload_libraries": "pg_stat_statements",
        "pgaudit_log": None,
    }
    assert item["request"]["reboot"] == "deferred"
    assert item["created_at"] <= item["updated_at"]


def test_registry_records_a_failure_with_step_code_and_message(world):
    execution = world.onboard(world.request("orders", account="999988887777"))

    item = world.registry_item("orders", account="999988887777")
    assert (item["status"], item["execution_arn"]) == ("failed", execution.arn)
    assert item["last_error"]["step"] == "Validate Request"
    assert item["last_error"]["error"] == "SourceAccessDeniedError"
    assert item["last_error"]["aws_error_code"] == "AccessDenied"
    assert "deploy source-account/template.yaml" in item["last_error"]["message"]


def test_invalid_request_leaves_no_registry_item(world):
    assert world.onboard({"account_id": "12", "region": "eu-west-1", "cluster_id": "orders"}).status == "FAILED"
    assert world.client("dynamodb").scan(TableName=world.resources["RegistryTable"])["Items"] == []


def test_offboarding_removes_what_onboarding_made_and_keeps_the_archive(world):
    world.create_cluster("orders")
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"
    logs = world.client("logs", SOURCE_ACCOUNT)
    group = "/aws/rds/cluster/orders/postgresql"
    logs.create_log_stream(logGroupName=group, logStreamName="orders-instance-1")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="orders-instance-1",
        logEvents=[
            {
                "timestamp": int(time.time() * 1000),
                "message": "2026-11-25 10:00:00 UTC::@:[1]:LOG:  AUDIT: SESSION,1,1,DDL,X,,,x,<none>",
            }
        ],
    )
    archived = [key for key, _ in world.archived_objects("pgaudit/")]
    assert archived

    execution = world.offboard("orders", restore=True)

    assert execution.status == "SUCCEEDED", execution.cause
    assert [s["name"] for s in execution.states] == OFFBOARDED_STATES
    assert execution.output["status"] == "offboarded"
    assert logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"] == []
    assert world.client("logs").describe_destinations()["destinations"] == []
    assert world.client("firehose").list_delivery_streams()["DeliveryStreamNames"] == []
    roles = world.client("iam").list_roles(PathPrefix="/pgaudit-archiver/")["Roles"]
    assert roles == []
    cluster = world.client("rds", SOURCE_ACCOUNT).describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]
    assert cluster["DBClusterParameterGroup"] == "default.aurora-postgresql15"
    assert cluster["EnabledCloudwatchLogsExports"] == []
    groups = world.client("rds", SOURCE_ACCOUNT).describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]
    assert "pgaudit-orders" not in {g["DBClusterParameterGroupName"] for g in groups}
    assert [key for key, _ in world.archived_objects("pgaudit/")] == archived
    assert world.registry_item("orders")["status"] == "offboarded"


def test_offboarding_without_restore_leaves_the_cluster_and_foreign_filters(world):
    world.create_cluster("orders")
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"
    logs = world.client("logs", SOURCE_ACCOUNT)
    group = "/aws/rds/cluster/orders/postgresql"
    function_arn = foreign_function(world)
    logs.put_subscription_filter(logGroupName=group, filterName="siem", filterPattern="", destinationArn=function_arn)

    execution = world.offboard("orders")

    assert execution.status == "SUCCEEDED", execution.cause
    filters = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert [f["filterName"] for f in filters] == ["siem"]
    cluster = world.client("rds", SOURCE_ACCOUNT).describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]
    assert cluster["DBClusterParameterGroup"] == "pgaudit-orders"
    assert cluster["EnabledCloudwatchLogsExports"] == ["postgresql"]


def test_offboarding_twice_changes_nothing_the_second_time(world):
    world.create_cluster("orders")
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"
    assert world.offboard("orders", restore=True).status == "SUCCEEDED"
    mark = world.calls.mark()

    again = world.offboard("orders", restore=True)

    assert again.status == "SUCCEEDED", again.cause
    assert again.output["changes"] == []
    assert world.calls.mutating(mark) == []


def test_onboarding_again_after_offboarding_works(world):
    world.create_cluster("orders")
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"
    assert world.offboard("orders", restore=True).status == "SUCCEEDED"
    execution = world.onboard(world.request("orders"))
    assert execution.status == "SUCCEEDED", execution.cause
    assert world.registry_item("orders")["status"] == "pending-reboot"


def test_a_status_change_on_a_status_seen_earlier_is_refused_once_another_writer_moved_the_item(world):
    """Registry.finish(if_status=...) on DynamoDB: what keeps a deletion, checked with RDS meanwhile, from overwriting
    an onboarding's claim."""
    registry = Registry(boto3.Session(region_name=world.region), world.resources["RegistryTable"])
    source = Source(account_id=SOURCE_ACCOUNT, region=world.region, cluster_id="claimed-meanwhile")
    registry.finish(source, SourceStatus.ACTIVE, {})
    registry.finish(source, SourceStatus.ONBOARDING, {})  # another writer, after the status was read as active

    assert registry.finish(source, SourceStatus.DELETED, {"deleted_at": "x"}, if_status=SourceStatus.ACTIVE) is False
    assert registry.get(source)["status"] == "onboarding" and "deleted_at" not in registry.get(source)
    assert registry.finish(source, SourceStatus.DELETED, {}, if_status=SourceStatus.ONBOARDING) is True
    assert registry.get(source)["status"] == "deleted"
