"""The emulation of the two other kinds of PostgreSQL on RDS, each behind a real PostgreSQL: RDS for PostgreSQL DB
instances and Multi-AZ DB clusters. Each test names the AWS page it holds the emulation to. One world for the module:
each test uses databases of its own."""

import pytest
from botocore.exceptions import ClientError

from local import SOURCE_ACCOUNT, World
from local.world import DB_INSTANCE, MULTI_AZ_CLUSTER
from tests.integration.helpers import PGAUDIT, source_rds

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def world():
    with World(postgres=True) as emulated:
        yield emulated


def instance_of(world, instance_id):
    return source_rds(world).describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]


def messages(world, group):
    world.flush_logs()
    logs = world.client("logs", SOURCE_ACCOUNT)
    return [event["message"] for event in logs.filter_log_events(logGroupName=group)["events"]]


def test_db_instance_has_a_default_postgres_group_with_the_engine_defaults_and_its_own_resource_id(world):
    # RDS User Guide, "Working with DB parameter groups": a DB instance created without one gets the default DB
    # parameter group of its engine version's family (default.postgres16), which cannot be modified.
    first = world.create_instance("kinds-default-a")
    second = world.create_instance("kinds-default-b", consent=False)

    assert first["DBParameterGroups"] == [
        {"DBParameterGroupName": "default.postgres16", "ParameterApplyStatus": "in-sync"}
    ]
    parameters = {
        p["ParameterName"]: p.get("ParameterValue")
        for p in source_rds(world).describe_db_parameters(DBParameterGroupName="default.postgres16")["Parameters"]
    }
    assert parameters["shared_preload_libraries"] == "pg_stat_statements"
    assert world.sql("kinds-default-a", "SHOW shared_preload_libraries", kind=DB_INSTANCE) == [("pg_stat_statements",)]
    assert first["DbiResourceId"] != second["DbiResourceId"]  # DescribeDBInstances: "unique to an AWS Region"
    tags = source_rds(world).list_tags_for_resource(ResourceName=first["DBInstanceArn"])["TagList"]
    assert {"Key": "pgaudit-archiver", "Value": "enabled"} in tags
    with pytest.raises(ClientError) as refused:
        source_rds(world).modify_db_parameter_group(
            DBParameterGroupName="default.postgres16",
            Parameters=[{"ParameterName": "pgaudit.log", "ParameterValue": "all", "ApplyMethod": "immediate"}],
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_static_parameter_waits_for_reboot_db_instance_which_restarts_the_real_server(world):
    # RDS User Guide, "Modifying parameters in a DB parameter group": a static parameter's change is applied after
    # the reboot; until then the group is pending-reboot (DescribeDBInstances DBParameterGroups[].ParameterApplyStatus).
    world.create_db_parameter_group("kinds-static")
    world.create_instance("kinds-static", parameter_group="kinds-static")
    rds = source_rds(world)
    rds.modify_db_parameter_group(
        DBParameterGroupName="kinds-static",
        Parameters=[{"ParameterName": key, "ParameterValue": value, "ApplyMethod": "pending-reboot"}
                    for key, value in PGAUDIT.items()],
    )  # fmt: skip

    [status] = instance_of(world, "kinds-static")["DBParameterGroups"]
    assert status["ParameterApplyStatus"] == "pending-reboot"
    assert world.sql("kinds-static", "SHOW shared_preload_libraries", kind=DB_INSTANCE) == [("pg_stat_statements",)]

    assert rds.reboot_db_instance(DBInstanceIdentifier="kinds-static")["DBInstance"]["DBInstanceStatus"] == "rebooting"

    [status] = instance_of(world, "kinds-static")["DBParameterGroups"]
    assert status["ParameterApplyStatus"] == "in-sync"
    loaded = world.sql("kinds-static", "SHOW shared_preload_libraries", kind=DB_INSTANCE)
    assert loaded == [("pg_stat_statements,pgaudit",)]


def test_a_new_db_parameter_group_waits_for_the_reboot_and_one_of_another_family_is_refused(world):
    # ModifyDBInstance (RDS API reference): "DBParameterGroupName [...] The DB instance isn't rebooted automatically,
    # and the parameter changes aren't applied during the next maintenance window"; RDS answers a group of another
    # family with InvalidParameterCombination and local/aws_rules.py family_refusal's wording.
    world.create_db_parameter_group("kinds-attach-16")
    world.create_db_parameter_group("kinds-attach-15", family="postgres15")
    world.create_instance("kinds-attach")
    rds = source_rds(world)

    with pytest.raises(ClientError) as refused:
        rds.modify_db_instance(DBInstanceIdentifier="kinds-attach", DBParameterGroupName="kinds-attach-15",
                               ApplyImmediately=True)  # fmt: skip
    rds.modify_db_instance(DBInstanceIdentifier="kinds-attach", DBParameterGroupName="kinds-attach-16",
                           ApplyImmediately=True)  # fmt: skip

    assert refused.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert refused.value.response["Error"]["Message"] == (
        "The Parameter Group kinds-attach-15 with DBParameterGroupFamily postgres15 cannot be used for this instance. "
        "Please use a Parameter Group with DBParameterGroupFamily postgres16"
    )
    assert instance_of(world, "kinds-attach")["DBParameterGroups"] == [
        {"DBParameterGroupName": "kinds-attach-16", "ParameterApplyStatus": "pending-reboot"}
    ]


def test_db_instance_postgresql_export_ships_what_the_real_server_logs_to_the_instance_log_group(world):
    # RDS User Guide, "Publishing PostgreSQL logs to Amazon CloudWatch Logs": ModifyDBInstance
    # CloudwatchLogsExportConfiguration EnableLogTypes ["postgresql"]; the log group is
    # /aws/rds/instance/<instance>/postgresql, one stream named after the instance. Nothing logged before is exported.
    world.create_instance("kinds-export")
    world.write_audit_line(DB_INSTANCE, "kinds-export", "DO $$BEGIN RAISE LOG 'before the export'; END$$")
    changed = source_rds(world).modify_db_instance(
        DBInstanceIdentifier="kinds-export",
        CloudwatchLogsExportConfiguration={"EnableLogTypes": ["postgresql"]},
        ApplyImmediately=True,
    )["DBInstance"]
    world.write_audit_line(DB_INSTANCE, "kinds-export", "DO $$BEGIN RAISE LOG 'after the export'; END$$")

    assert changed["EnabledCloudwatchLogsExports"] == ["postgresql"]
    logged = messages(world, "/aws/rds/instance/kinds-export/postgresql")
    assert any("after the export" in line for line in logged)
    assert not any("before the export" in line for line in logged)
    streams = world.client("logs", SOURCE_ACCOUNT).describe_log_streams(
        logGroupName="/aws/rds/instance/kinds-export/postgresql"
    )["logStreams"]
    assert [stream["logStreamName"] for stream in streams] == ["kinds-export"]


def test_multi_az_cluster_has_three_instances_a_postgres_cluster_group_and_reboots_with_reboot_db_cluster(world):
    # RDS User Guide, "Multi-AZ DB cluster deployments": one writer and two reader DB instances in three AZs, a DB
    # cluster parameter group of the postgres family; RebootDBCluster (RDS API reference) restarts the engine and
    # applies the pending static parameters.
    world.create_parameter_group("kinds-maz", family="postgres16")
    cluster = world.create_multi_az_cluster("kinds-maz", parameter_group="kinds-maz")
    rds = source_rds(world)
    rds.modify_db_cluster_parameter_group(
        DBClusterParameterGroupName="kinds-maz",
        Parameters=[{"ParameterName": key, "ParameterValue": value, "ApplyMethod": "pending-reboot"}
                    for key, value in PGAUDIT.items()],
    )  # fmt: skip
    pending = rds.describe_db_clusters(DBClusterIdentifier="kinds-maz")["DBClusters"][0]["DBClusterMembers"]

    rebooted = rds.reboot_db_cluster(DBClusterIdentifier="kinds-maz")["DBCluster"]

    assert [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]] == [
        "kinds-maz-instance-1", "kinds-maz-instance-2", "kinds-maz-instance-3"
    ]  # fmt: skip
    assert cluster["MultiAZ"] is True and cluster["Engine"] == "postgres"
    assert {m["DBClusterParameterGroupStatus"] for m in pending} == {"pending-reboot"}
    assert {m["DBClusterParameterGroupStatus"] for m in rebooted["DBClusterMembers"]} == {"in-sync"}
    assert world.sql("kinds-maz", "SHOW pgaudit.log", kind=MULTI_AZ_CLUSTER) == [("all",)]
    default = world.create_multi_az_cluster("kinds-maz-default", database_user=False)
    assert default["DBClusterParameterGroup"] == "default.postgres16"


def test_multi_az_cluster_export_through_modify_db_cluster_ships_to_the_cluster_log_group(world):
    # RDS User Guide, "Publishing PostgreSQL logs to Amazon CloudWatch Logs" (Multi-AZ DB clusters): ModifyDBCluster
    # CloudwatchLogsExportConfiguration; the log group is /aws/rds/cluster/<cluster>/postgresql.
    world.create_multi_az_cluster("kinds-maz-export", database_user=False)
    source_rds(world).modify_db_cluster(
        DBClusterIdentifier="kinds-maz-export",
        CloudwatchLogsExportConfiguration={"EnableLogTypes": ["postgresql"]},
        ApplyImmediately=True,
    )
    world.write_audit_line(MULTI_AZ_CLUSTER, "kinds-maz-export", "DO $$BEGIN RAISE LOG 'multi-az line'; END$$")

    assert any("multi-az line" in line for line in messages(world, "/aws/rds/cluster/kinds-maz-export/postgresql"))


def test_describing_a_db_parameter_group_that_does_not_exist_is_db_parameter_group_not_found(world):
    # RDS API reference, DescribeDBParameterGroups, Errors: DBParameterGroupNotFound, "DBParameterGroupName doesn't
    # refer to an existing DB parameter group" (as DescribeDBClusterParameterGroups for a DB cluster parameter group).
    world.create_db_parameter_group("kinds-described")

    with pytest.raises(ClientError) as missing:
        source_rds(world).describe_db_parameter_groups(DBParameterGroupName="kinds-no-such-group")

    assert missing.value.response["Error"]["Code"] == "DBParameterGroupNotFound"
    named = source_rds(world).describe_db_parameter_groups(DBParameterGroupName="kinds-described")["DBParameterGroups"]
    assert [group["DBParameterGroupName"] for group in named] == ["kinds-described"]


def test_an_io_optimized_aurora_cluster_keeps_its_storage_type_and_reports_allocated_storage_1(world):
    # CreateDBCluster (RDS API reference): StorageType "Valid Values: Aurora DB clusters - aurora | aurora-iopt1";
    # DBCluster.AllocatedStorage: "For Aurora, AllocatedStorage always returns 1, because Aurora DB cluster storage
    # size isn't fixed, but instead automatically adjusts as needed."
    for cluster_id, storage_type in (("kinds-iopt1", "aurora-iopt1"), ("kinds-standard", "aurora")):
        options = {"StorageType": storage_type}
        world.create_cluster(cluster_id, instances=1, real_postgres=False, database_user=False, cluster_options=options)
        cluster = source_rds(world).describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
        assert (cluster["StorageType"], cluster["AllocatedStorage"]) == (storage_type, 1)
