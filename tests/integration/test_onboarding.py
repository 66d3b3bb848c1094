"""The whole onboarding workflow on the two-account emulation: the state machine from the ASL file, the real
handlers, moto with its AWS-fidelity extensions."""

import json

import pytest

from local import ARCHIVE_ACCOUNT, SOURCE_ACCOUNT
from tests.integration.helpers import foreign_function

ONBOARDED_STATES = [
    "Register Execution",
    "Validate Request",
    "Cluster Available?",
    "Ensure Delivery Stream",
    "Delivery Stream Active?",
    "Wait For Delivery Stream",
    "Check Delivery Stream",
    "Delivery Stream Active?",
    "Ensure Destination Role",
    "Ensure Destination",
    "Configure Parameter Group",
    "Reboot Now?",
    "Defer Reboot",
    "Create Extension",
    "Enable Log Export",
    "Log Export Enabled?",
    "Ensure Subscription Filter",
    "Summarize Onboarding",
    "Onboarding Succeeded",
]


def parameters(world, group):
    rds = world.client("rds", SOURCE_ACCOUNT)
    return {
        p["ParameterName"]: p.get("ParameterValue")
        for p in rds.describe_db_cluster_parameters(DBClusterParameterGroupName=group)["Parameters"]
    }


def test_onboarding_default_group_creates_every_resource_with_its_policies(world):
    world.create_cluster("orders")
    execution = world.onboard(world.request("orders"))

    assert execution.status == "SUCCEEDED", execution.cause
    assert [state["name"] for state in execution.states] == ONBOARDED_STATES
    summary = execution.output
    assert summary["status"] == "pending-reboot"
    assert summary["pending"][0].startswith("reboot of orders-instance-1, orders-instance-2")

    stream = world.client("firehose").describe_delivery_stream(DeliveryStreamName="pgaudit-111122223333-orders")
    s3 = stream["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert s3["Prefix"] == (
        "!{partitionKeyFromLambda:area}/account=111122223333/region=eu-west-1/cluster=orders/"
        "date=!{partitionKeyFromLambda:event_date}/"
    )
    assert s3["ErrorOutputPrefix"].startswith("errors/account=111122223333/region=eu-west-1/cluster=orders/")
    assert (s3["CompressionFormat"], s3["FileExtension"]) == ("GZIP", ".gz")
    assert s3["ProcessingConfiguration"]["Processors"][0]["Parameters"][0]["ParameterValue"].endswith(
        "FirehoseTransformFunction"
    )

    iam = world.client("iam")
    role = iam.get_role(RoleName="pgaudit-dest-eu-west-1-111122223333")["Role"]  # the account's, for all its sources
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert trust["Condition"]["StringLike"]["aws:SourceArn"] == [
        f"arn:aws:logs:eu-west-1:{SOURCE_ACCOUNT}:*",
        f"arn:aws:logs:eu-west-1:{ARCHIVE_ACCOUNT}:destination:pgaudit-{SOURCE_ACCOUNT}-*",
    ]
    policy = iam.get_role_policy(RoleName=role["RoleName"], PolicyName="put-records-to-source-stream")["PolicyDocument"]
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
            "Resource": f"arn:aws:firehose:eu-west-1:{ARCHIVE_ACCOUNT}:deliverystream/pgaudit-{SOURCE_ACCOUNT}-*",
        }
    ]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == world.resources["DestinationRoleBoundary"]

    [destination] = world.client("logs").describe_destinations(DestinationNamePrefix="pgaudit-111122223333-orders")[
        "destinations"
    ]
    access = json.loads(destination["accessPolicy"])["Statement"]
    assert access == [
        {
            "Sid": "AllowSourceAccountToSubscribe",
            "Effect": "Allow",
            "Principal": {"AWS": SOURCE_ACCOUNT},
            "Action": "logs:PutSubscriptionFilter",
            "Resource": destination["arn"],
        }
    ]

    rds = world.client("rds", SOURCE_ACCOUNT)
    cluster = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]
    assert cluster["DBClusterParameterGroup"] == "pgaudit-orders"
    assert cluster["EnabledCloudwatchLogsExports"] == ["postgresql"]
    values = parameters(world, "pgaudit-orders")
    assert values["shared_preload_libraries"] == "pg_stat_statements,pgaudit"
    assert values["pgaudit.log"] == "ddl,role,write"
    assert parameters(world, "default.aurora-postgresql15")["shared_preload_libraries"] == "pg_stat_statements"

    logs = world.client("logs", SOURCE_ACCOUNT)
    [group] = logs.describe_log_groups(logGroupNamePrefix="/aws/rds/cluster/orders/postgresql")["logGroups"]
    assert "retentionInDays" not in group  # the owner's group never expires: onboarding never shortens that
    [subscription] = logs.describe_subscription_filters(logGroupName=group["logGroupName"])["subscriptionFilters"]
    assert (subscription["filterName"], subscription["filterPattern"]) == ("pgaudit-archiver", '"AUDIT:"')
    assert subscription["destinationArn"] == destination["arn"]


def test_second_identical_onboarding_makes_no_changing_call(world):
    world.create_cluster("orders")
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"
    mark = world.calls.mark()

    rerun = world.onboard(world.request("orders"))

    assert rerun.status == "SUCCEEDED", rerun.cause
    assert world.calls.mutating(mark) == []
    assert rerun.output["changes"] == []
    assert world.calls.summary(mark)[SOURCE_ACCOUNT]["read"] > 0


def test_custom_group_is_copied_keeping_pg_stat_statements_and_every_owner_setting(world):
    world.create_parameter_group("owners-group", values={"log_min_duration_statement": "500"})
    world.create_cluster("orders", parameter_group="owners-group")

    execution = world.onboard(world.request("orders"))

    assert execution.status == "SUCCEEDED", execution.cause
    values = parameters(world, "pgaudit-orders")
    assert values["shared_preload_libraries"] == "pg_stat_statements,pgaudit"
    assert values["log_min_duration_statement"] == "500"
    assert parameters(world, "owners-group")["shared_preload_libraries"] == "pg_stat_statements"


def test_shared_group_is_copied_and_the_other_cluster_is_untouched(world):
    world.create_parameter_group("shared-group", values={"log_min_duration_statement": "250"})
    world.create_cluster("orders", parameter_group="shared-group")
    world.create_cluster("billing", parameter_group="shared-group")

    execution = world.onboard(world.request("orders"))

    assert execution.status == "SUCCEEDED", execution.cause
    rds = world.client("rds", SOURCE_ACCOUNT)
    clusters = {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}
    assert clusters["orders"]["DBClusterParameterGroup"] == "pgaudit-orders"
    assert clusters["billing"]["DBClusterParameterGroup"] == "shared-group"
    assert parameters(world, "shared-group")["shared_preload_libraries"] == "pg_stat_statements"
    copied = parameters(world, "pgaudit-orders")
    assert (copied["shared_preload_libraries"], copied["log_min_duration_statement"]) == (
        "pg_stat_statements,pgaudit",
        "250",
    )
    assert all(m["DBClusterParameterGroupStatus"] == "in-sync" for m in clusters["billing"]["DBClusterMembers"])


def test_immediate_reboot_reboots_readers_before_the_writer_and_creates_the_extension(world):
    world.create_cluster("orders", instances=3)

    execution = world.onboard(world.request("orders", reboot="immediate"))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["status"] == "active"
    rebooted = [
        change.removeprefix("rebooted ") for change in execution.output["changes"] if change.startswith("rebooted")
    ]
    assert rebooted == ["orders-instance-2", "orders-instance-3", "orders-instance-1"]  # instance-1 is the writer
    members = world.client("rds", SOURCE_ACCOUNT).describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0][
        "DBClusterMembers"
    ]
    assert {m["DBClusterParameterGroupStatus"] for m in members} == {"in-sync"}
    assert "created extension pgaudit in appdb" in execution.output["changes"]
    assert execution.output["actions_required"] == []
    assert [s["name"] for s in execution.states].count("Wait For Reboot") >= 3


@pytest.mark.parametrize(
    ("instance_class", "cluster_options"),
    [
        # Aurora Serverless v2: instances of class db.serverless in a cluster with a capacity range (Aurora User
        # Guide, "Using Aurora Serverless v2"); the same parameter groups, reboots, log exports and Data API.
        ("db.serverless", {"ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 8}}),
        # Aurora I/O-Optimized: a storage configuration, StorageType aurora-iopt1 (CreateDBCluster).
        ("db.r6g.large", {"StorageType": "aurora-iopt1"}),
    ],
    ids=["serverless-v2", "io-optimized"],
)
def test_serverless_v2_and_io_optimized_clusters_onboard_as_any_aurora_cluster(world, instance_class, cluster_options):
    world.create_cluster("orders", instance_class=instance_class, cluster_options=cluster_options)

    execution = world.onboard(world.request("orders", reboot="immediate"))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["status"] == "active"
    assert "created extension pgaudit in appdb" in execution.output["changes"]
    rds = world.client("rds", SOURCE_ACCOUNT)
    cluster = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]
    assert {m["DBClusterParameterGroupStatus"] for m in cluster["DBClusterMembers"]} == {"in-sync"}
    assert cluster["DBClusterParameterGroup"] == "pgaudit-orders"
    assert cluster["EnabledCloudwatchLogsExports"] == ["postgresql"]
    for key, value in cluster_options.items():  # the owner's configuration, untouched
        assert cluster[key] == value
    instances = [rds.describe_db_instances(DBInstanceIdentifier=m["DBInstanceIdentifier"])["DBInstances"][0]
                 for m in cluster["DBClusterMembers"]]  # fmt: skip
    assert {instance["DBInstanceClass"] for instance in instances} == {instance_class}
    assert world.onboard(world.request("orders", reboot="immediate")).output["changes"] == []


def test_immediate_reboot_on_older_aurora_postgresql_reboots_only_the_writer(world):
    # 13.9: the writer's reboot reboots the readers too, so rebooting them as well would take each down twice.
    world.create_cluster("orders", instances=3, engine_version="13.9")
    mark = world.calls.mark()

    execution = world.onboard(world.request("orders", reboot="immediate"))

    assert execution.status == "SUCCEEDED", execution.cause
    assert world.calls.operations(mark)["rds:RebootDBInstance"] == 1
    assert [change for change in execution.output["changes"] if change.startswith("rebooted")] == [
        "rebooted orders-instance-1",  # the writer, with which the readers rebooted
        "rebooted orders-instance-2",
        "rebooted orders-instance-3",
    ]
    members = world.client("rds", SOURCE_ACCOUNT).describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0][
        "DBClusterMembers"
    ]
    assert {m["DBClusterParameterGroupStatus"] for m in members} == {"in-sync"}


def test_deferred_reboot_then_owner_reboot_then_rerun_becomes_active(world):
    world.create_cluster("orders", instances=1)
    assert world.onboard(world.request("orders")).output["status"] == "pending-reboot"
    world.client("rds", SOURCE_ACCOUNT).reboot_db_instance(DBInstanceIdentifier="orders-instance-1")

    rerun = world.onboard(world.request("orders"))

    assert rerun.output["status"] == "active"
    assert rerun.output["changes"] == ["created extension pgaudit in appdb"]


def test_data_api_off_reports_the_sql_to_run(world):
    world.create_cluster("orders", data_api=False, instances=1)

    execution = world.onboard(world.request("orders", reboot="immediate"))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["pending"] == [
        "CREATE EXTENSION pgaudit in appdb: the RDS Data API is not enabled on the cluster"
    ]
    [action] = execution.output["actions_required"]
    assert action.startswith(
        "run `CREATE EXTENSION IF NOT EXISTS pgaudit;` in database appdb as a member of rds_superuser"
    )
    assert "the RDS Data API on" in action


def _master_secret_reads(world):
    return [arn for _, arn in world.calls.secret_reads if ":secret:rds!" in arn]


def test_cluster_without_a_database_user_secret_is_active_with_the_sql_to_run_and_no_master_secret_read(world):
    world.create_cluster("orders", instances=1, database_user=False)  # a managed master secret, Data API on

    execution = world.onboard(world.request("orders", reboot="immediate"))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["status"] == "active"
    reason = (
        "no secret in account 111122223333 (eu-west-1) is tagged pgaudit-archiver:cluster=orders and "
        "pgaudit-archiver:database-user=true, and the request names no secret_arn"
    )
    assert execution.output["pending"] == [f"CREATE EXTENSION pgaudit in appdb: {reason}"]
    assert execution.output["extension"] == {
        "status": "manual", "database": "appdb", "sql": "CREATE EXTENSION IF NOT EXISTS pgaudit;", "reason": reason,
        "secret_arn": None,
    }  # fmt: skip
    item = world.registry_item("orders")
    assert item["status"] == "active"
    assert item["extension"]["sql"] == "CREATE EXTENSION IF NOT EXISTS pgaudit;"
    assert item["actions_required"] == execution.output["actions_required"]
    assert world.calls.secret_reads == [] and _master_secret_reads(world) == []
    assert ("secretsmanager", "ListSecrets") in {(service, op) for _, service, op in world.calls.calls}


def test_the_secret_tagged_for_the_cluster_is_found_and_the_extension_created_with_it(world):
    world.create_cluster("orders", instances=1, database_user=False)
    world.create_cluster("billing", instances=1)  # with its owner's secret, tagged for billing
    owners = world.create_database_user("orders")

    execution = world.onboard(world.request("orders", reboot="immediate"))

    assert execution.status == "SUCCEEDED", execution.cause
    assert "created extension pgaudit in appdb" in execution.output["changes"]
    assert execution.output["resources"]["database_user_secret"] == owners
    assert world.registry_item("orders")["extension"]["secret_arn"] == owners
    assert {arn for _, arn in world.calls.secret_reads} == {owners}
    assert _master_secret_reads(world) == []


def test_a_secret_tagged_for_another_cluster_is_not_used(world):
    world.create_cluster("orders", instances=1, database_user=False)
    world.create_cluster("orders-replica", instances=1)  # tag value "orders-replica": ListSecrets' prefix match

    execution = world.onboard(world.request("orders", reboot="immediate"))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["extension"]["status"] == "manual"
    assert world.calls.secret_reads == []


def test_a_requested_master_secret_is_never_read(world):
    cluster = world.create_cluster("orders", instances=1)
    master = cluster["MasterUserSecret"]["SecretArn"]

    execution = world.onboard(world.request("orders", reboot="immediate", secret_arn=master))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["extension"]["status"] == "manual"
    assert "never reads" in execution.output["extension"]["reason"]
    assert _master_secret_reads(world) == []


def test_longer_existing_retention_is_kept(world):
    world.create_cluster("orders")
    logs = world.client("logs", SOURCE_ACCOUNT)  # the owner's log group, made with their consent
    logs.put_retention_policy(logGroupName="/aws/rds/cluster/orders/postgresql", retentionInDays=365)

    assert world.onboard(world.request("orders", log_retention_days=7)).status == "SUCCEEDED"

    [group] = logs.describe_log_groups(logGroupNamePrefix="/aws/rds/cluster/orders/postgresql")["logGroups"]
    assert group["retentionInDays"] == 365


def test_other_exports_are_kept(world):
    world.create_cluster("orders", exports=("instance",))
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"
    cluster = world.client("rds", SOURCE_ACCOUNT).describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]
    assert sorted(cluster["EnabledCloudwatchLogsExports"]) == ["instance", "postgresql"]


def test_full_filter_slots_fail_listing_the_filters_and_leave_them_alone(world):
    world.create_cluster("orders")
    logs = world.client("logs", SOURCE_ACCOUNT)
    group = "/aws/rds/cluster/orders/postgresql"
    lambda_arn = foreign_function(world)
    for name in ("siem-forwarder", "ops-alerts"):
        logs.put_subscription_filter(logGroupName=group, filterName=name, filterPattern="", destinationArn=lambda_arn)

    execution = world.onboard(world.request("orders"))

    assert execution.status == "FAILED"
    assert execution.error == "SubscriptionSlotsFullError"
    assert "Ensure Subscription Filter failed for cluster orders in account 111122223333" in execution.cause
    assert "siem-forwarder" in execution.cause and "ops-alerts" in execution.cause
    assert "LimitExceededException" in execution.cause
    names = {f["filterName"] for f in logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]}
    assert names == {"siem-forwarder", "ops-alerts"}


def test_our_filter_is_updated_in_place_when_the_pattern_changes(world):
    world.create_cluster("orders")
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"

    rerun = world.onboard(world.request("orders", filter_pattern='"AUDIT: SESSION"'))

    assert rerun.output["changes"] == [
        "updated subscription filter pgaudit-archiver on /aws/rds/cluster/orders/postgresql"
    ]
    logs = world.client("logs", SOURCE_ACCOUNT)
    [subscription] = logs.describe_subscription_filters(logGroupName="/aws/rds/cluster/orders/postgresql")[
        "subscriptionFilters"
    ]
    assert subscription["filterPattern"] == '"AUDIT: SESSION"'


@pytest.mark.parametrize(
    ("setup", "request_options", "message"),
    [
        ("mysql", {}, "the cluster's engine is aurora-mysql, not aurora-postgresql"),
        (None, {}, "no DB cluster named orders exists in account 111122223333, region eu-west-1"),
        (
            "postgres",
            {"region": "us-east-1"},
            "start the onboarding in the pgaudit-archiver stack deployed in us-east-1",
        ),
        ("postgres", {"account_id": "1111-2222-3333"}, "account_id has an invalid format ('1111-2222-3333')"),
        ("postgres", {"pgaudit_log": "ddl,selects"}, "unknown pgaudit class selects"),
    ],
)
def test_refused_requests_fail_in_the_first_state_and_create_nothing(world, setup, request_options, message):
    if setup == "mysql":
        world.create_cluster("orders", engine="aurora-mysql", engine_version="8.0.mysql_aurora.3.05.2")
    elif setup == "postgres":
        world.create_cluster("orders")
    mark = world.calls.mark()

    execution = world.onboard({**world.request("orders"), **request_options})

    assert execution.status == "FAILED"
    assert execution.error in {"ClusterNotEligibleError", "InvalidRequestError", "RegionNotArchivedError"}
    assert message in execution.cause
    assert execution.cause.startswith("Validate Request failed")
    assert [s["name"] for s in execution.states] == [
        "Register Execution",
        "Validate Request",
        "Record Failure",
        "Onboarding Failed",
    ]
    assert world.calls.mutating(mark) == []


def test_source_account_without_the_role_fails_saying_what_to_deploy(world):
    execution = world.onboard(world.request("orders", account="999988887777"))
    assert execution.status == "FAILED"
    assert execution.error == "SourceAccessDeniedError"
    assert "deploy source-account/template.yaml in account 999988887777" in execution.cause


def test_instance_group_overriding_pgaudit_log_stops_onboarding_before_anything_changes(world):
    world.create_cluster("orders", instances=2)
    rds = world.client("rds", SOURCE_ACCOUNT)
    rds.create_db_parameter_group(
        DBParameterGroupName="reader-group", DBParameterGroupFamily="aurora-postgresql15", Description="owner's"
    )
    rds.modify_db_parameter_group(
        DBParameterGroupName="reader-group",
        Parameters=[{"ParameterName": "pgaudit.log", "ParameterValue": "none", "ApplyMethod": "immediate"}],
    )
    rds.modify_db_instance(DBInstanceIdentifier="orders-instance-2", DBParameterGroupName="reader-group")
    mark = world.calls.mark()

    execution = world.onboard(world.request("orders"))

    assert execution.status == "FAILED"
    assert execution.error == "ClusterNotEligibleError"
    assert execution.cause.startswith(
        "Validate Request failed for cluster orders in account 111122223333 (eu-west-1): DB parameter group "
        "reader-group of instance orders-instance-2 sets pgaudit.log to 'none'"
    )
    assert "reset pgaudit.log so that the instance takes the cluster's value" in execution.cause
    assert world.calls.mutating(mark) == []  # in either account
    assert world.registry_item("orders")["last_error"]["step"] == "Validate Request"
    [cluster] = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"]
    assert cluster["DBClusterParameterGroup"] == "default.aurora-postgresql15"
