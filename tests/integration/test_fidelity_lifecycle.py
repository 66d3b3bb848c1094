"""A database's life events as RDS takes them, on the emulation behind real PostgreSQL: rename, deletion, restore,
minor and major upgrades, blue/green switchover. Each test names the AWS page it holds the emulation to. One world for
the module: each test uses databases of its own."""

import pytest
from botocore.exceptions import ClientError

from local import SOURCE_ACCOUNT, World
from local.world import AURORA_CLUSTER, DB_INSTANCE, MULTI_AZ_CLUSTER, database_log_group
from tests.integration.helpers import PGAUDIT, source_rds

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def world():
    with World(postgres=True) as emulated:
        yield emulated


def lines(world, kind, database_id):
    world.flush_logs()
    logs = world.client("logs", SOURCE_ACCOUNT)
    events = logs.filter_log_events(logGroupName=database_log_group(kind, database_id))["events"]
    return [event["message"] for event in events]


def log_line(world, kind, database_id, marker):
    world.write_audit_line(kind, database_id, f"DO $$BEGIN RAISE LOG '{marker}'; END$$")


def archive_filter(world, group, name="owner-archive"):
    """A subscription filter of the owner's on `group`, to a Firehose stream of theirs."""
    s3, firehose = world.client("s3", SOURCE_ACCOUNT), world.client("firehose", SOURCE_ACCOUNT)
    bucket = f"owner-archive-{abs(hash(group)) % 10**8}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": world.region})
    role = f"arn:aws:iam::{SOURCE_ACCOUNT}:role/owner-firehose"
    stream = firehose.create_delivery_stream(
        DeliveryStreamName=bucket, S3DestinationConfiguration={"RoleARN": role, "BucketARN": f"arn:aws:s3:::{bucket}"}
    )["DeliveryStreamARN"]
    world.client("logs", SOURCE_ACCOUNT).put_subscription_filter(
        logGroupName=group, filterName=name, filterPattern="", destinationArn=stream, roleArn=role
    )


def filters(world, group):
    logs = world.client("logs", SOURCE_ACCOUNT)
    return [f["filterName"] for f in logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]]


# ---------------------------------------------------------------- rename
@pytest.mark.parametrize(
    ("kind", "create"),
    [(DB_INSTANCE, World.create_instance), (AURORA_CLUSTER, World.create_cluster)],
)
def test_rename_keeps_the_resource_id_and_new_lines_go_to_the_new_name_s_log_group_the_filter_stays_behind(
    world, kind, create
):
    # RDS User Guide, "Renaming a DB instance"; Aurora User Guide, "Renaming an Aurora DB cluster"
    # (NewDBInstanceIdentifier / NewDBClusterIdentifier, ApplyImmediately). The resource id is the identity and stays.
    # RDS writes to the log group of the database's current name; it neither deletes nor renames the old group, and
    # a subscription filter belongs to a log group, so it stays on the old one (PutSubscriptionFilter).
    old, new = f"life-{kind}-old", f"life-{kind}-new"
    created = create(world, old, exports=("postgresql",), database_user=False)
    before = created.get("DbiResourceId") or created.get("DbClusterResourceId")
    log_line(world, kind, old, "before the rename")
    archive_filter(world, database_log_group(kind, old))

    after = world.rename_database(kind, old, new)
    log_line(world, kind, new, "after the rename")

    assert after == before
    assert any("after the rename" in line for line in lines(world, kind, new))
    assert not any("after the rename" in line for line in lines(world, kind, old))
    assert any("before the rename" in line for line in lines(world, kind, old))  # the old group stays
    assert filters(world, database_log_group(kind, old)) == ["owner-archive"]
    assert filters(world, database_log_group(kind, new)) == []
    if kind == AURORA_CLUSTER:  # the cluster keeps its DB instances
        cluster = source_rds(world).describe_db_clusters(DBClusterIdentifier=new)["DBClusters"][0]
        assert [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]] == [f"{old}-instance-1",
                                                                                   f"{old}-instance-2"]  # fmt: skip


# ---------------------------------------------------------------- deletion
def test_deleted_db_instance_and_multi_az_cluster_are_gone_and_their_log_groups_stay(world):
    # RDS User Guide, "Deleting a DB instance" and "Deleting a Multi-AZ DB cluster" (its DB instances go with it):
    # RDS deletes no CloudWatch Logs log group; the exported lines stay where they are.
    world.create_instance("life-gone", exports=("postgresql",), database_user=False)
    world.create_multi_az_cluster("life-gone-maz", exports=("postgresql",), database_user=False)
    log_line(world, DB_INSTANCE, "life-gone", "last words")
    log_line(world, MULTI_AZ_CLUSTER, "life-gone-maz", "last words")

    world.delete_database(DB_INSTANCE, "life-gone")
    world.delete_database(MULTI_AZ_CLUSTER, "life-gone-maz")

    rds = source_rds(world)
    with pytest.raises(ClientError, match="DBInstanceNotFound"):
        rds.describe_db_instances(DBInstanceIdentifier="life-gone")
    with pytest.raises(ClientError, match="DBInstanceNotFound"):
        rds.describe_db_instances(DBInstanceIdentifier="life-gone-maz-instance-1")
    with pytest.raises(ClientError, match="DBClusterNotFound"):
        rds.describe_db_clusters(DBClusterIdentifier="life-gone-maz")
    assert any("last words" in line for line in lines(world, DB_INSTANCE, "life-gone"))
    assert any("last words" in line for line in lines(world, MULTI_AZ_CLUSTER, "life-gone-maz"))


# ---------------------------------------------------------------- restore
def test_restored_db_instance_is_a_new_resource_with_the_source_data_and_what_the_request_names(world):
    # RestoreDBInstanceFromDBSnapshot and RestoreDBInstanceToPointInTime (RDS API reference): a new DB instance (a new
    # DbiResourceId); EnableCloudwatchLogsExports as requested; DBParameterGroupName as requested, else "the default
    # DBParameterGroup for the specified DB engine".
    world.create_db_parameter_group("life-restore", values=PGAUDIT)
    source = world.create_instance("life-restore", parameter_group="life-restore", exports=("postgresql",))
    world.sql("life-restore", "CREATE TABLE orders (id int)", kind=DB_INSTANCE)

    from_snapshot = world.restore_database(DB_INSTANCE, "life-restore", "life-restored")
    in_time = world.restore_database(DB_INSTANCE, "life-restore", "life-restored-pitr", point_in_time=True,
                                     exports=("postgresql",), parameter_group="life-restore")  # fmt: skip
    log_line(world, DB_INSTANCE, "life-restored-pitr", "on the restored copy")

    ids = {source["DbiResourceId"], from_snapshot["DbiResourceId"], in_time["DbiResourceId"]}
    assert len(ids) == 3
    assert from_snapshot["EnabledCloudwatchLogsExports"] == []
    assert from_snapshot["DBParameterGroups"][0]["DBParameterGroupName"] == "default.postgres16"
    assert in_time["EnabledCloudwatchLogsExports"] == ["postgresql"]
    assert in_time["DBParameterGroups"][0]["DBParameterGroupName"] == "life-restore"
    table = "SELECT to_regclass('orders') IS NOT NULL"
    assert world.sql("life-restored", table, kind=DB_INSTANCE) == [(True,)]  # the source's data
    assert world.sql("life-restored-pitr", "SHOW pgaudit.log", kind=DB_INSTANCE) == [("all",)]
    assert any("on the restored copy" in line for line in lines(world, DB_INSTANCE, "life-restored-pitr"))


def test_restored_aurora_cluster_is_a_new_resource_with_the_source_data(world):
    # Aurora User Guide, "Restoring from a DB cluster snapshot": a new DB cluster, to which the owner adds instances.
    source = world.create_cluster("life-restore-aurora", database_user=False)
    world.sql("life-restore-aurora", "CREATE TABLE invoices (id int)")

    restored = world.restore_database(AURORA_CLUSTER, "life-restore-aurora", "life-restored-aurora",
                                      exports=("postgresql",))  # fmt: skip
    log_line(world, AURORA_CLUSTER, "life-restored-aurora", "restored cluster line")

    assert restored["DbClusterResourceId"] != source["DbClusterResourceId"]
    assert restored["EnabledCloudwatchLogsExports"] == ["postgresql"]
    assert restored["DBClusterParameterGroup"] == "default.aurora-postgresql15"
    assert world.sql("life-restored-aurora", "SELECT to_regclass('invoices') IS NOT NULL") == [(True,)]
    assert any("restored cluster line" in line for line in lines(world, AURORA_CLUSTER, "life-restored-aurora"))


# ---------------------------------------------------------------- upgrades
def test_minor_upgrade_changes_no_group_and_no_identity(world):
    # RDS User Guide, "Upgrading the PostgreSQL DB engine for Amazon RDS": a minor version upgrade keeps the DB
    # parameter group (a group belongs to a major's family).
    world.create_db_parameter_group("life-minor", values=PGAUDIT)
    before = world.create_instance("life-minor", parameter_group="life-minor", database_user=False)

    after = source_rds(world).modify_db_instance(DBInstanceIdentifier="life-minor", EngineVersion="16.4",
                                             ApplyImmediately=True)["DBInstance"]  # fmt: skip

    assert after["EngineVersion"] == "16.4"
    assert after["DBParameterGroups"] == before["DBParameterGroups"]
    assert after["DbiResourceId"] == before["DbiResourceId"]


def test_major_upgrade_of_a_db_instance_needs_the_flag_and_a_group_of_the_new_family_then_restarts_with_it(world):
    # RDS User Guide, "Upgrading the PostgreSQL DB engine for Amazon RDS": AllowMajorVersionUpgrade; an instance on a
    # custom DB parameter group names one of the new family, one on a default group moves to the new default.
    world.create_db_parameter_group("life-major-16")
    world.create_db_parameter_group("life-major-17", family="postgres17", values=PGAUDIT)
    world.create_instance("life-major", parameter_group="life-major-16", database_user=False)
    world.create_instance("life-major-default", database_user=False)
    rds = source_rds(world)

    refusals = []
    for options in ({}, {"AllowMajorVersionUpgrade": True}, {"AllowMajorVersionUpgrade": True,
                                                              "DBParameterGroupName": "life-major-16"}):  # fmt: skip
        with pytest.raises(ClientError) as refused:
            rds.modify_db_instance(DBInstanceIdentifier="life-major", EngineVersion="17.2", ApplyImmediately=True,
                                   **options)  # fmt: skip
        refusals.append(refused.value.response["Error"]["Code"])
    upgraded = rds.modify_db_instance(
        DBInstanceIdentifier="life-major", EngineVersion="17.2", ApplyImmediately=True, AllowMajorVersionUpgrade=True,
        DBParameterGroupName="life-major-17",
    )["DBInstance"]  # fmt: skip
    default = rds.modify_db_instance(DBInstanceIdentifier="life-major-default", EngineVersion="17.2",
                                     ApplyImmediately=True, AllowMajorVersionUpgrade=True)["DBInstance"]  # fmt: skip

    assert refusals == ["InvalidParameterCombination"] * 3
    assert upgraded["DBParameterGroups"] == [
        {"DBParameterGroupName": "life-major-17", "ParameterApplyStatus": "in-sync"}
    ]
    assert world.sql("life-major", "SHOW pgaudit.log", kind=DB_INSTANCE) == [("all",)]  # restarted with the new group
    assert default["DBParameterGroups"][0]["DBParameterGroupName"] == "default.postgres17"


def test_major_upgrade_of_a_multi_az_cluster_needs_a_cluster_group_of_the_new_family(world):
    # RDS User Guide, "Upgrading the engine version of a Multi-AZ DB cluster": as for a DB instance, with the DB
    # cluster parameter group; CreateDBClusterParameterGroup: a group "can be applied only to a DB cluster running a
    # version compatible with that family".
    world.create_parameter_group("life-maz-16", family="postgres16")
    world.create_parameter_group("life-maz-17", family="postgres17", values=PGAUDIT)
    world.create_multi_az_cluster("life-maz", parameter_group="life-maz-16", database_user=False)
    rds = source_rds(world)

    with pytest.raises(ClientError) as custom_without_group:
        rds.modify_db_cluster(DBClusterIdentifier="life-maz", EngineVersion="17.2", AllowMajorVersionUpgrade=True,
                              ApplyImmediately=True)  # fmt: skip
    with pytest.raises(ClientError) as old_family:
        rds.modify_db_cluster(DBClusterIdentifier="life-maz", EngineVersion="17.2", AllowMajorVersionUpgrade=True,
                              DBClusterParameterGroupName="life-maz-16", ApplyImmediately=True)  # fmt: skip
    upgraded = rds.modify_db_cluster(DBClusterIdentifier="life-maz", EngineVersion="17.2",
                                     AllowMajorVersionUpgrade=True, DBClusterParameterGroupName="life-maz-17",
                                     ApplyImmediately=True)["DBCluster"]  # fmt: skip

    assert custom_without_group.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert "DBParameterGroupFamily postgres17" in old_family.value.response["Error"]["Message"]
    assert upgraded["DBClusterParameterGroup"] == "life-maz-17"
    assert world.sql("life-maz", "SHOW pgaudit.log", kind=MULTI_AZ_CLUSTER) == [("all",)]


# ---------------------------------------------------------------- blue/green
def test_blue_green_switchover_of_a_db_instance_swaps_names_and_ids_follow_the_resources(world):
    # RDS User Guide, "Overview of Amazon RDS Blue/Green Deployments" (the green copies the blue: data, tags,
    # exports) and "Switching a blue/green deployment" (the green takes the blue's name, the blue is renamed
    # <name>-old1, resource IDs do not change). Secrets Manager-managed master passwords are not supported
    # ("Limitations for blue/green deployments"), hence managed_secret=False.
    blue = world.create_instance("life-bg", managed_secret=False, exports=("postgresql",), database_user=False)
    world.sql("life-bg", "CREATE TABLE before_green (id int)", kind=DB_INSTANCE)
    deployment = world.start_blue_green(DB_INSTANCE, "life-bg")
    green_name = deployment["Target"].rsplit(":", 1)[-1]
    green = source_rds(world).describe_db_instances(DBInstanceIdentifier=green_name)["DBInstances"][0]

    switched = world.switchover(deployment["BlueGreenDeploymentIdentifier"])
    log_line(world, DB_INSTANCE, "life-bg", "served by the former green")
    log_line(world, DB_INSTANCE, "life-bg-old1", "served by the former blue")

    assert green_name.startswith("life-bg-green-") and len(green_name) == len("life-bg-green-") + 6
    assert green["EnabledCloudwatchLogsExports"] == ["postgresql"]
    assert switched["Status"] == "SWITCHOVER_COMPLETED"
    production = source_rds(world).describe_db_instances(DBInstanceIdentifier="life-bg")["DBInstances"][0]
    old_blue = source_rds(world).describe_db_instances(DBInstanceIdentifier="life-bg-old1")["DBInstances"][0]
    assert production["DbiResourceId"] == green["DbiResourceId"]
    assert old_blue["DbiResourceId"] == blue["DbiResourceId"]
    assert world.sql("life-bg", "SELECT to_regclass('before_green') IS NOT NULL", kind=DB_INSTANCE) == [(True,)]
    assert any("served by the former green" in line for line in lines(world, DB_INSTANCE, "life-bg"))
    assert any("served by the former blue" in line for line in lines(world, DB_INSTANCE, "life-bg-old1"))

    # After switchover DescribeBlueGreenDeployments names the renamed old blue as Source and the production name as
    # Target (AWS CLI Command Reference, describe-blue-green-deployments, "after switchover" example); the deployment
    # is still described once the old blue is deleted (SwitchoverDetail, API reference: "MISSING_SOURCE - The source
    # resource has been deleted").
    world.delete_database(DB_INSTANCE, "life-bg-old1")
    [described] = source_rds(world).describe_blue_green_deployments(
        Filters=[{"Name": "target", "Values": [production["DBInstanceArn"]]}]
    )["BlueGreenDeployments"]
    assert (described["Status"], described["Source"], described["Target"]) == (
        "SWITCHOVER_COMPLETED", old_blue["DBInstanceArn"], production["DBInstanceArn"],
    )  # fmt: skip


def test_blue_green_major_upgrade_of_an_aurora_cluster_needs_a_group_of_the_new_family_and_renames_its_instances(
    world,
):
    # Aurora User Guide, "Creating a blue/green deployment" (a major upgrade in the green needs a DB cluster parameter
    # group compatible with the new version) and "Switching a blue/green deployment" (the DB instances are renamed
    # with their cluster).
    world.create_parameter_group("life-bg-15", values=PGAUDIT)
    world.create_parameter_group("life-bg-16", family="aurora-postgresql16", values=PGAUDIT)
    world.create_cluster("life-bg-aurora", managed_secret=False, parameter_group="life-bg-15", instances=1,
                         database_user=False)  # fmt: skip

    with pytest.raises(ClientError) as old_family:
        world.start_blue_green(AURORA_CLUSTER, "life-bg-aurora", target_engine_version="16.4",
                               target_parameter_group="life-bg-15")  # fmt: skip
    deployment = world.start_blue_green(AURORA_CLUSTER, "life-bg-aurora", target_engine_version="16.4",
                                        target_parameter_group="life-bg-16")  # fmt: skip
    world.switchover(deployment["BlueGreenDeploymentIdentifier"])

    assert old_family.value.response["Error"]["Code"] == "InvalidParameterCombination"
    clusters = {c["DBClusterIdentifier"]: c for c in source_rds(world).describe_db_clusters()["DBClusters"]}
    production, old_blue = clusters["life-bg-aurora"], clusters["life-bg-aurora-old1"]
    assert (production["EngineVersion"], production["DBClusterParameterGroup"]) == ("16.4", "life-bg-16")
    assert [m["DBInstanceIdentifier"] for m in production["DBClusterMembers"]] == ["life-bg-aurora-instance-1"]
    assert [m["DBInstanceIdentifier"] for m in old_blue["DBClusterMembers"]] == ["life-bg-aurora-instance-1-old1"]


# ---------------------------------------------------------------- Aurora global database
def test_global_secondary_is_a_cluster_of_its_own_region_logging_to_its_own_log_group_there(world):
    # Aurora User Guide, "Adding an AWS Region to an Amazon Aurora global database": the secondary is a DB cluster in
    # another Region, a member of the global cluster (not its writer), exporting to its own log group in its Region.
    # (Aurora User Guide, "Password management with Aurora and Secrets Manager": not for a global database member.)
    primary = world.create_cluster("life-global", managed_secret=False, instances=1, database_user=False)
    world.sql("life-global", "CREATE TABLE replicated (id int)")

    secondary = world.create_global_secondary("life-global-db", "life-global", "eu-central-1", "life-global-fra")
    world.write_audit_line(AURORA_CLUSTER, "life-global-fra", "DO $$BEGIN RAISE LOG 'in frankfurt'; END$$",
                           region="eu-central-1")  # fmt: skip

    assert secondary["DBClusterArn"].startswith("arn:aws:rds:eu-central-1:")
    [global_cluster] = source_rds(world).describe_global_clusters()["GlobalClusters"]
    members = {m["DBClusterArn"]: m["IsWriter"] for m in global_cluster["GlobalClusterMembers"]}
    assert members == {primary["DBClusterArn"]: True, secondary["DBClusterArn"]: False}
    query = "SELECT to_regclass('replicated') IS NOT NULL"
    assert world.sql("life-global-fra", query, region="eu-central-1") == [(True,)]
    world.flush_logs()
    frankfurt = world.client("logs", SOURCE_ACCOUNT, "eu-central-1")
    group = database_log_group(AURORA_CLUSTER, "life-global-fra")
    assert any("in frankfurt" in e["message"] for e in frankfurt.filter_log_events(logGroupName=group)["events"])
    here = world.client("logs", SOURCE_ACCOUNT).describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert here == []
