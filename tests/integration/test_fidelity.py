"""Each AWS-fidelity extension of the emulation, shown on behaviour plain moto does not have."""

import base64
import gzip
import json
import re
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from moto.rds.models import rds_backends

from local import SOURCE_ACCOUNT, World
from local.fidelity import AURORA_DEFAULT_PARAMETERS, ClusterHooks, filter_pattern_matches
from local.template import load_settings
from pgaudit_archiver.models import Source
from pgaudit_archiver.steps.delivery_stream import desired_destination

DESTINATION_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": SOURCE_ACCOUNT}, "Action": "logs:PutSubscriptionFilter"}],
}


def logs_delivery_role(world, name, stream_arn):
    """A role CloudWatch Logs may assume to put records into the stream (the emulation enforces its trust)."""
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": f"logs.{world.region}.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]}  # fmt: skip
    allow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "firehose:PutRecordBatch", "Resource": stream_arn}
    ]}  # fmt: skip
    iam = world.client("iam")
    arn = iam.create_role(RoleName=f"logs-to-{name}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=f"logs-to-{name}", PolicyName="put", PolicyDocument=json.dumps(allow))
    return arn


def stream_settings(world):
    """The stack's settings with this world's role, bucket and transform."""
    resources = world.resources
    return load_settings({
        "AWS_REGION": world.region, "ARCHIVE_ACCOUNT_ID": "123456789012", "EXTERNAL_ID": "x" * 16,
        "FIREHOSE_ROLE_ARN": resources["FirehoseDeliveryRole.Arn"], "ARCHIVE_BUCKET": resources["ArchiveBucket"],
        "TRANSFORM_FUNCTION_ARN": resources["FirehoseTransformFunction.Arn"],
    })  # fmt: skip


def make_destination(world, name="dest", policy_for=SOURCE_ACCOUNT):
    firehose = world.client("firehose")
    stream_arn = firehose.create_delivery_stream(
        DeliveryStreamName=f"pgaudit-{name}",
        ExtendedS3DestinationConfiguration={
            # What Ensure Delivery Stream asks for, under a prefix of this test's own.
            **desired_destination(
                stream_settings(world), Source(account_id=SOURCE_ACCOUNT, region=world.region, cluster_id=name)
            ),
            "Prefix": "pgaudit/x/date=!{partitionKeyFromLambda:event_date}/",
            "ErrorOutputPrefix": "errors/x/!{firehose:error-output-type}/",
        },
    )["DeliveryStreamARN"]
    logs = world.client("logs")
    destination = logs.put_destination(
        destinationName=name, targetArn=stream_arn, roleArn=logs_delivery_role(world, name, stream_arn)
    )["destination"]
    if policy_for:
        statement = {
            **DESTINATION_POLICY["Statement"][0],
            "Principal": {"AWS": policy_for},
            "Resource": destination["arn"],
        }
        logs.put_destination_policy(
            destinationName=name, accessPolicy=json.dumps({**DESTINATION_POLICY, "Statement": [statement]})
        )
    return destination["arn"]


def source_group(world, name="/aws/rds/cluster/c/postgresql"):
    logs = world.client("logs", SOURCE_ACCOUNT)
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="c-instance-1")
    return logs


def test_subscription_to_a_destination_needs_its_access_policy(world):
    arn = make_destination(world, policy_for="444455556666")
    logs = source_group(world)
    with pytest.raises(ClientError) as refused:
        logs.put_subscription_filter(
            logGroupName="/aws/rds/cluster/c/postgresql", filterName="f", filterPattern="", destinationArn=arn
        )
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_subscription_to_a_destination_in_another_region_is_refused(world):
    arn = make_destination(world).replace(":eu-west-1:", ":us-east-1:")
    logs = source_group(world)
    with pytest.raises(ClientError) as refused:
        logs.put_subscription_filter(
            logGroupName="/aws/rds/cluster/c/postgresql", filterName="f", filterPattern="", destinationArn=arn
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_matching_events_reach_the_archive_through_the_transform_as_gzip_under_the_prefix(world):
    arn = make_destination(world)
    logs = source_group(world)
    group = "/aws/rds/cluster/c/postgresql"
    logs.put_subscription_filter(logGroupName=group, filterName="f", filterPattern='"AUDIT:"', destinationArn=arn)
    now = datetime.now(tz=UTC)  # CloudWatch Logs refuses events older than 14 days
    logs.put_log_events(
        logGroupName=group,
        logStreamName="c-instance-1",
        logEvents=[
            {
                "timestamp": int(now.timestamp() * 1000),
                "message": "LOG:  AUDIT: SESSION,1,1,DDL,CREATE TABLE,,,x,<not logged>",
            },
            {"timestamp": int(now.timestamp() * 1000), "message": "LOG:  connection received: host=10.0.0.1"},
        ],
    )

    [(key, body)] = list(world.archived_objects("pgaudit/"))
    assert key.startswith(f"pgaudit/x/date={now:%Y-%m-%d}/pgaudit-dest-1-") and key.endswith(".gz")
    [line] = gzip.decompress(body).decode().splitlines()
    record = json.loads(line)
    assert (record["account"], record["cluster"], record["instance"]) == (SOURCE_ACCOUNT, "c", "c-instance-1")
    assert record["raw"].endswith("CREATE TABLE,,,x,<not logged>")
    assert isinstance(record["event_id"], str) and re.fullmatch(r"\d{56}", record["event_id"])


def test_records_the_transform_cannot_read_land_under_the_error_prefix(world):
    arn = make_destination(world)
    stream = arn.rsplit(":", 1)[1]
    world.client("firehose").put_record(DeliveryStreamName=f"pgaudit-{stream}", Record={"Data": b"not a gzip envelope"})
    [(key, body)] = list(world.archived_objects("errors/"))
    assert key.startswith("errors/x/processing-failed/")
    assert base64.b64decode(json.loads(body)["rawData"]) == b"not a gzip envelope"


def test_aurora_postgresql_default_parameter_group_exists_with_aurora_defaults(world):
    cluster = world.create_cluster("c", instances=1)
    rds = world.client("rds", SOURCE_ACCOUNT)
    assert cluster["DBClusterParameterGroup"] == "default.aurora-postgresql15"
    [group] = rds.describe_db_cluster_parameter_groups(DBClusterParameterGroupName="default.aurora-postgresql15")[
        "DBClusterParameterGroups"
    ]
    assert group["DBParameterGroupFamily"] == "aurora-postgresql15"
    values = {
        p["ParameterName"]: p.get("ParameterValue")
        for p in rds.describe_db_cluster_parameters(DBClusterParameterGroupName="default.aurora-postgresql15")[
            "Parameters"
        ]
    }
    assert values["shared_preload_libraries"] == "pg_stat_statements"
    with pytest.raises(ClientError) as refused:
        rds.modify_db_cluster_parameter_group(
            DBClusterParameterGroupName="default.aurora-postgresql15",
            Parameters=[{"ParameterName": "pgaudit.log", "ParameterValue": "all", "ApplyMethod": "immediate"}],
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_log_export_configuration_updates_enabled_exports(world):
    world.create_cluster("c", instances=1, exports=("instance",))
    rds = world.client("rds", SOURCE_ACCOUNT)
    rds.modify_db_cluster(
        DBClusterIdentifier="c",
        CloudwatchLogsExportConfiguration={"EnableLogTypes": ["postgresql"], "DisableLogTypes": ["instance"]},
    )
    assert rds.describe_db_clusters(DBClusterIdentifier="c")["DBClusters"][0]["EnabledCloudwatchLogsExports"] == [
        "postgresql"
    ]


def test_static_parameter_change_leaves_members_pending_reboot_until_rebooted(world):
    world.create_parameter_group("owners")
    world.create_cluster("c", instances=2, parameter_group="owners")
    rds = world.client("rds", SOURCE_ACCOUNT)
    rds.modify_db_cluster_parameter_group(
        DBClusterParameterGroupName="owners",
        Parameters=[
            {"ParameterName": "shared_preload_libraries", "ParameterValue": "pgaudit", "ApplyMethod": "pending-reboot"}
        ],
    )

    def statuses():
        members = rds.describe_db_clusters(DBClusterIdentifier="c")["DBClusters"][0]["DBClusterMembers"]
        return {m["DBInstanceIdentifier"]: m["DBClusterParameterGroupStatus"] for m in members}

    assert statuses() == {"c-instance-1": "pending-reboot", "c-instance-2": "pending-reboot"}
    rds.reboot_db_instance(DBInstanceIdentifier="c-instance-2")
    assert (
        rds.describe_db_instances(DBInstanceIdentifier="c-instance-2")["DBInstances"][0]["DBInstanceStatus"]
        == "rebooting"
    )
    assert statuses() == {"c-instance-1": "pending-reboot", "c-instance-2": "in-sync"}


def test_assume_role_needs_the_role_and_its_external_id(world):
    sts = world.client("sts")
    role = f"arn:aws:iam::{SOURCE_ACCOUNT}:role/pgaudit-archiver-source"
    for external_id in ("wrong-external-id", None):
        options = {"ExternalId": external_id} if external_id else {}
        with pytest.raises(ClientError) as refused:
            sts.assume_role(RoleArn=role, RoleSessionName="probe", **options)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn="arn:aws:iam::999988887777:role/pgaudit-archiver-source", RoleSessionName="probe")


def test_execution_history_honours_reverse_order_max_results_and_next_token(world):
    world.create_cluster("c", instances=1)
    execution = world.onboard(world.request("c"))
    sfn = world.client("stepfunctions")
    first = sfn.get_execution_history(executionArn=execution.arn, reverseOrder=True, maxResults=2)
    newest = first["events"]
    assert len(newest) == 2
    assert newest[0]["type"] == "ExecutionSucceeded"
    older = sfn.get_execution_history(
        executionArn=execution.arn, reverseOrder=True, maxResults=2, nextToken=first["nextToken"]
    )["events"]
    assert [event["id"] for event in older] == [newest[1]["id"] - 1, newest[1]["id"] - 2]
    everything = sfn.get_execution_history(executionArn=execution.arn, maxResults=1000)
    assert "nextToken" not in everything and everything["events"][0]["type"] == "ExecutionStarted"


@pytest.mark.parametrize(
    ("pattern", "message", "matches"),
    [
        ('"AUDIT:"', "LOG:  AUDIT: SESSION", True),
        ('"AUDIT:"', "LOG:  audit: session", False),
        ("", "anything", True),
        ("ERROR timeout", "ERROR: statement timeout", True),
        ("ERROR timeout", "ERROR: x", False),
        ('?"AUDIT:" ?"ERROR:"', "LOG:  AUDIT: x", True),
        ('?"AUDIT:" ?"ERROR:"', "ERROR:  y", True),
        ('?"AUDIT:" ?"ERROR:"', "LOG:  checkpoint", False),
    ],
)
def test_filter_pattern_terms(pattern, message, matches):
    assert filter_pattern_matches(pattern, message) is matches


def test_firehose_takes_more_than_moto_s_fifty_streams_per_region(world):
    firehose = world.client("firehose")
    destination = {
        "RoleARN": world.resources["FirehoseDeliveryRole.Arn"],
        "BucketARN": world.resources["ArchiveBucket.Arn"],
    }
    for number in range(60):  # AWS's default quota is 5,000 per region; moto refuses the 51st
        firehose.create_delivery_stream(
            DeliveryStreamName=f"many-{number}", ExtendedS3DestinationConfiguration=destination
        )
    assert len(firehose.list_delivery_streams(Limit=100)["DeliveryStreamNames"]) == 60


def test_destination_policy_turning_organization_wide_needs_force_update(world):
    arn = make_destination(world)  # its policy names the source account
    logs = world.client("logs")
    org_wide = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "logs:PutSubscriptionFilter",
                "Resource": arn,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ["o-1234567890"]}},
            }
        ],
    }
    with pytest.raises(ClientError) as refused:
        logs.put_destination_policy(destinationName="dest", accessPolicy=json.dumps(org_wide))
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"

    logs.put_destination_policy(destinationName="dest", accessPolicy=json.dumps(org_wide), forceUpdate=True)
    [destination] = logs.describe_destinations(DestinationNamePrefix="dest")["destinations"]
    assert json.loads(destination["accessPolicy"]) == org_wide


@pytest.mark.parametrize(("version", "readers_reboot"), [("13.9", True), ("11.21", True), ("14.7", False)])
def test_writer_reboot_takes_the_readers_along_on_older_aurora_postgresql(world, version, readers_reboot):
    world.create_cluster("c", instances=3, engine_version=version)
    world.create_parameter_group("g", family=f"aurora-postgresql{version.split('.')[0]}")
    rds = world.client("rds", SOURCE_ACCOUNT)
    rds.modify_db_cluster(DBClusterIdentifier="c", DBClusterParameterGroupName="g")  # every member pending-reboot

    rds.reboot_db_instance(DBInstanceIdentifier="c-instance-1")  # the writer

    statuses = {
        name: rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DBInstanceStatus"]
        for name in ("c-instance-2", "c-instance-3")
    }
    members = rds.describe_db_clusters(DBClusterIdentifier="c")["DBClusters"][0]["DBClusterMembers"]
    waiting = sorted(m["DBInstanceIdentifier"] for m in members if m["DBClusterParameterGroupStatus"] != "in-sync")
    if readers_reboot:
        assert set(statuses.values()) == {"rebooting"} and waiting == []
    else:
        assert set(statuses.values()) == {"available"} and waiting == ["c-instance-2", "c-instance-3"]


def owners_instance_group(world, name, values, family="aurora-postgresql15"):
    rds = world.client("rds", SOURCE_ACCOUNT)
    rds.create_db_parameter_group(DBParameterGroupName=name, DBParameterGroupFamily=family, Description="owner's")
    rds.modify_db_parameter_group(
        DBParameterGroupName=name,
        Parameters=[
            {"ParameterName": key, "ParameterValue": value, "ApplyMethod": "pending-reboot"}
            for key, value in values.items()
        ],
    )
    return rds


def test_db_parameters_can_be_listed_by_source_and_a_default_db_parameter_group_cannot_be_modified(world):
    world.create_cluster("c", instances=1)
    rds = owners_instance_group(world, "owners-instance", {"pgaudit.log": "none"})
    rds.modify_db_instance(DBInstanceIdentifier="c-instance-1", DBParameterGroupName="owners-instance")

    user = rds.describe_db_parameters(DBParameterGroupName="owners-instance", Source="user")["Parameters"]
    defaults = rds.describe_db_parameters(DBParameterGroupName="owners-instance", Source="engine-default")

    assert [(p["ParameterName"], p["ParameterValue"], p["Source"]) for p in user] == [("pgaudit.log", "none", "user")]
    assert defaults["Parameters"] == []
    [instance] = rds.describe_db_instances(DBInstanceIdentifier="c-instance-1")["DBInstances"]
    assert instance["DBParameterGroups"][0]["DBParameterGroupName"] == "owners-instance"
    with pytest.raises(ClientError) as refused:
        rds.modify_db_parameter_group(
            DBParameterGroupName="default.aurora-postgresql15",
            Parameters=[{"ParameterName": "pgaudit.log", "ParameterValue": "all", "ApplyMethod": "immediate"}],
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


class RecordedRestarts(ClusterHooks):
    def __init__(self):
        self.restarts, self.reloads = [], []

    def restart(self, cluster, parameters):
        self.restarts.append(parameters)

    def apply_dynamic(self, cluster, parameters):
        self.reloads.append(parameters)


def test_the_writer_restarts_with_its_db_parameter_group_overriding_the_cluster_group(world):
    world.fidelity.hooks = hooks = RecordedRestarts()
    world.create_parameter_group("cluster-group", values={"shared_preload_libraries": "pg_stat_statements,pgaudit",
                                                          "pgaudit.log": "ddl"})  # fmt: skip
    world.create_cluster("c", instances=2, parameter_group="cluster-group")
    rds = owners_instance_group(world, "writer-group", {"shared_preload_libraries": "pg_stat_statements"})
    rds.modify_db_instance(DBInstanceIdentifier="c-instance-1", DBParameterGroupName="writer-group")

    rds.reboot_db_instance(DBInstanceIdentifier="c-instance-1")
    rds.modify_db_cluster_parameter_group(
        DBClusterParameterGroupName="cluster-group",
        Parameters=[{"ParameterName": "pgaudit.log", "ParameterValue": "all", "ApplyMethod": "immediate"}],
    )
    rds.modify_db_parameter_group(
        DBParameterGroupName="writer-group",
        Parameters=[{"ParameterName": "pgaudit.log", "ParameterValue": "read", "ApplyMethod": "immediate"}],
    )
    rds.modify_db_cluster_parameter_group(
        DBClusterParameterGroupName="cluster-group",
        Parameters=[{"ParameterName": "pgaudit.log", "ParameterValue": "write", "ApplyMethod": "immediate"}],
    )

    [restarted] = hooks.restarts
    assert (restarted["shared_preload_libraries"], restarted["pgaudit.log"]) == ("pg_stat_statements", "ddl")
    assert hooks.reloads == [{"pgaudit.log": "all"}, {"pgaudit.log": "read"}]  # then the instance's value wins


@pytest.mark.postgres
def test_the_real_postgresql_runs_with_the_writer_s_db_parameter_group_over_the_cluster_group():
    with World(postgres=True) as world:
        world.create_parameter_group(
            "cluster-group", values={"shared_preload_libraries": "pg_stat_statements,pgaudit", "pgaudit.log": "ddl"}
        )
        world.create_cluster("c", instances=2, parameter_group="cluster-group")
        rds = owners_instance_group(world, "writer-group", {"shared_preload_libraries": "pg_stat_statements"})
        rds.modify_db_instance(DBInstanceIdentifier="c-instance-1", DBParameterGroupName="writer-group")

        rds.modify_db_parameter_group(
            DBParameterGroupName="writer-group",
            Parameters=[{"ParameterName": "pgaudit.log", "ParameterValue": "write", "ApplyMethod": "immediate"}],
        )
        rds.modify_db_cluster_parameter_group(
            DBClusterParameterGroupName="cluster-group",
            Parameters=[{"ParameterName": "pgaudit.log", "ParameterValue": "all", "ApplyMethod": "immediate"}],
        )
        assert world.sql("c", "SHOW pgaudit.log") == [("write",)]  # reloaded; the cluster's change does not win

        rds.reboot_db_instance(DBInstanceIdentifier="c-instance-1")

        assert world.sql("c", "SHOW shared_preload_libraries") == [("pg_stat_statements",)]
        assert world.sql("c", "SHOW pgaudit.log") == [("write",)]


def pad_with_engine_defaults(world, group, count):
    """A parameter group as large as AWS's (an Aurora PostgreSQL cluster group lists several hundred parameters)."""
    parameters = rds_backends[SOURCE_ACCOUNT][world.region].db_cluster_parameter_groups[group].parameters
    for index in range(count):
        parameters[f"zz_padding_{index:03}"] = {"ApplyType": "dynamic", "Source": "engine-default"}


def test_db_cluster_parameters_honour_the_parameter_name_filter_and_page_by_max_records(world):
    world.create_cluster("c")
    rds, group = world.client("rds", SOURCE_ACCOUNT), "default.aurora-postgresql15"
    pad_with_engine_defaults(world, group, 30)
    wanted = ["pgaudit.log", "shared_preload_libraries"]

    named = rds.describe_db_cluster_parameters(
        DBClusterParameterGroupName=group, Filters=[{"Name": "parameter-name", "Values": wanted}]
    )
    first = rds.describe_db_cluster_parameters(DBClusterParameterGroupName=group, MaxRecords=20)
    rest = rds.describe_db_cluster_parameters(DBClusterParameterGroupName=group, Marker=first["Marker"])

    assert sorted(p["ParameterName"] for p in named["Parameters"]) == wanted and "Marker" not in named
    assert len(first["Parameters"]) == 20 and "Marker" not in rest
    assert len(first["Parameters"]) + len(rest["Parameters"]) == len(AURORA_DEFAULT_PARAMETERS) + 30
    with pytest.raises(ClientError) as refused:
        rds.describe_db_cluster_parameters(DBClusterParameterGroupName=group, Filters=[{"Name": "x", "Values": ["y"]}])
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


def parameter_reads_to_onboard(padding):
    with World() as world:
        world.create_cluster("orders")
        pad_with_engine_defaults(world, "default.aurora-postgresql15", padding)
        mark = world.calls.mark()
        assert world.onboard(world.request("orders")).status == "SUCCEEDED"
        operations = world.calls.operations(mark)
        return operations["rds:DescribeDBClusterParameters"], operations["rds:DescribeDBParameters"]


def test_onboarding_reads_parameters_in_calls_that_do_not_grow_with_the_group():
    # 400 parameters are four pages of 100 without the parameter-name filter, one page with it.
    assert parameter_reads_to_onboard(400) == parameter_reads_to_onboard(0)
