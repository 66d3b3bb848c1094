"""A database's life events as the product takes them, end to end on the emulation: reconciliation finds the source's
database by its resource id (steps/lifecycle.py). One world for the module: each test uses databases of its own."""

import json

import pytest

from local import SOURCE_ACCOUNT, World
from local.world import AURORA_CLUSTER, DB_INSTANCE, database_log_group


@pytest.fixture(scope="module")
def world():
    with World() as emulated:
        yield emulated


def filters(world, group):
    logs = world.client("logs", SOURCE_ACCOUNT)
    return [f["filterName"] for f in logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]]


def onboarded_cluster(world, cluster_id):
    world.create_cluster(cluster_id, instances=1)
    assert world.onboard(world.request(cluster_id, reboot="immediate")).status == "SUCCEEDED"
    assert world.reconcile(cluster_id).status == "SUCCEEDED"


def test_describe_by_cluster_resource_id_finds_a_renamed_cluster(world):
    # DescribeDBClusters, Filters: "db-cluster-resource-id - Accepts DB cluster resource identifiers" (API reference)
    world.create_cluster("life-filter", instances=1)
    resource_id = world.rename_database(AURORA_CLUSTER, "life-filter", "life-filtered")
    rds = world.client("rds", SOURCE_ACCOUNT)

    found = rds.describe_db_clusters(Filters=[{"Name": "db-cluster-resource-id", "Values": [resource_id]}])

    assert [c["DBClusterIdentifier"] for c in found["DBClusters"]] == ["life-filtered"]


def test_onboarding_records_the_resource_id(world):
    world.create_cluster("life-id", instances=1)
    assert world.onboard(world.request("life-id", reboot="immediate")).status == "SUCCEEDED"

    cluster = world.client("rds", SOURCE_ACCOUNT).describe_db_clusters(DBClusterIdentifier="life-id")["DBClusters"][0]
    assert world.registry_item("life-id")["resource_id"] == cluster["DbClusterResourceId"]


def test_a_renamed_cluster_is_followed_to_its_new_name_and_the_old_name_is_offboarded(world):
    onboarded_cluster(world, "life-old")
    resource_id = world.rename_database(AURORA_CLUSTER, "life-old", "life-new")
    world.grant_consent("life-new")  # the owner marks the new name's log group too (consent.py)

    execution = world.reconcile("life-old")

    assert execution.status == "SUCCEEDED", execution.cause
    old = world.registry_item("life-old")
    assert old["renamed_to"] == "life-new"
    assert world.wait(old["execution_arn"]).status == "SUCCEEDED"  # the old name's offboarding
    new = world.registry_item("life-new")
    assert world.wait(new["execution_arn"]).status == "SUCCEEDED", new  # the new name's onboarding
    new = world.registry_item("life-new")
    assert (new["status"], new["resource_id"]) == ("active", resource_id)
    assert world.registry_item("life-old")["status"] == "offboarded"
    assert filters(world, database_log_group(AURORA_CLUSTER, "life-new")) == ["pgaudit-archiver"]
    assert filters(world, database_log_group(AURORA_CLUSTER, "life-old")) == []


def test_a_renamed_databases_secret_left_on_its_old_tag_is_named_with_the_command_that_re_tags_it(world):
    # docs/deploy.md step 4: the owner tags the database user's secret with the identifier; a rename leaves it.
    world.create_cluster("life-tagged", instances=1, database_user=False)
    secret = world.create_database_user("life-tagged")
    assert world.onboard(world.request("life-tagged", reboot="immediate")).status == "SUCCEEDED"
    assert world.reconcile("life-tagged").status == "SUCCEEDED"
    assert world.registry_item("life-tagged")["extension"]["secret_arn"] == secret
    world.rename_database(AURORA_CLUSTER, "life-tagged", "life-retagged")
    world.grant_consent("life-retagged")
    assert world.reconcile("life-tagged").status == "SUCCEEDED"
    assert world.wait(world.registry_item("life-retagged")["execution_arn"]).status == "SUCCEEDED"

    item = world.registry_item("life-retagged")

    assert item["extension"]["status"] == "manual"
    retag = (f"`aws secretsmanager tag-resource --region {world.region} --secret-id {secret} --tags "
             "Key=pgaudit-archiver:cluster,Value=life-retagged`")  # fmt: skip
    [action] = [action for action in item["actions_required"] if "tag-resource" in action]
    assert retag in action and "still tagged pgaudit-archiver:cluster=life-tagged" in action
    assert f"`pgaudit-archiver --region {world.region} onboard {SOURCE_ACCOUNT} life-retagged`" in action
    # Doing as it says: the onboarding finds the secret by its new tag again.
    world.client("secretsmanager", SOURCE_ACCOUNT).tag_resource(
        SecretId=secret, Tags=[{"Key": "pgaudit-archiver:cluster", "Value": "life-retagged"}]
    )
    assert world.onboard(world.request("life-retagged")).status == "SUCCEEDED"
    again = world.registry_item("life-retagged")
    assert again["extension"]["status"] != "manual" and again["extension"]["secret_arn"] == secret
    assert not [action for action in again["actions_required"] if "tag-resource" in action]


def test_a_deleted_instance_is_status_deleted_with_no_drift_and_its_stream_kept(world):
    world.create_instance("life-gone", exports=("postgresql",))
    request = {"account_id": SOURCE_ACCOUNT, "region": world.region, "instance_id": "life-gone", "reboot": "immediate"}
    assert world.onboard(request).status == "SUCCEEDED"
    world.delete_database(DB_INSTANCE, "life-gone")

    execution = world.reconcile()

    assert execution.status == "SUCCEEDED", execution.cause
    item = world.registry_item("instance--life-gone")
    assert (item["status"], item["last_verification"]["drift"]) == ("deleted", [])
    assert item["deleted_at"]
    stream = world.client("firehose").describe_delivery_stream(
        DeliveryStreamName=f"pgaudit-{SOURCE_ACCOUNT}-instance--life-gone"
    )
    assert stream["DeliveryStreamDescription"]["DeliveryStreamStatus"] == "ACTIVE"


def instance(world, instance_id):
    return world.client("rds", SOURCE_ACCOUNT).describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]


def test_a_db_instance_upgraded_a_major_version_is_repaired_on_the_new_family_and_offboarding_says_which_group(world):
    world.create_instance("life-major", engine_version="16.3", exports=("postgresql",))
    world.create_instance("life-seventeen", engine_version="17.2")  # the emulation makes default.postgres17 then
    request = {"account_id": SOURCE_ACCOUNT, "region": world.region, "instance_id": "life-major", "reboot": "immediate"}
    assert world.onboard(request).status == "SUCCEEDED"
    assert instance(world, "life-major")["DBParameterGroups"][0]["DBParameterGroupName"] == "pgaudit-life-major"
    world.client("rds", SOURCE_ACCOUNT).modify_db_instance(
        DBInstanceIdentifier="life-major", EngineVersion="17.2", AllowMajorVersionUpgrade=True, ApplyImmediately=True,
        DBParameterGroupName="default.postgres17",
    )  # fmt: skip

    assert world.reconcile().status == "SUCCEEDED"
    item = world.registry_item("instance--life-major")
    assert "pgaudit is not in shared_preload_libraries of default.postgres17" in item["last_verification"]["drift"]
    repair = world.wait(item["last_verification"]["repair"])
    assert repair.status == "SUCCEEDED", repair.cause
    assert (
        instance(world, "life-major")["DBParameterGroups"][0]["DBParameterGroupName"] == "pgaudit-life-major-postgres17"
    )

    arn = world.client("stepfunctions").start_execution(
        stateMachineArn=world.resources["OffboardStateMachine"], name="off-life-major",
        input=json.dumps({**{k: request[k] for k in ("account_id", "region", "instance_id")}, "restore": True}),
    )["executionArn"]  # fmt: skip
    offboarding = world.wait(arn)

    assert offboarding.status == "SUCCEEDED", offboarding.cause
    assert instance(world, "life-major")["DBParameterGroups"][0]["DBParameterGroupName"] == "default.postgres17"
    assert "instead of default.postgres16, which is of family postgres16" in " ".join(offboarding.output["changes"])


def test_a_major_upgrade_green_gets_pgaudit_from_the_product_and_the_source_follows_the_name_past_a_deleted_blue(
    world,
):
    world.create_instance("life-bg-seventeen", engine_version="17.2")  # the emulation makes default.postgres17 then
    world.create_instance("life-blue", engine_version="16.3", exports=("postgresql",), managed_secret=False)
    request = {"account_id": SOURCE_ACCOUNT, "region": world.region, "instance_id": "life-blue", "reboot": "immediate"}
    assert world.onboard(request).status == "SUCCEEDED"
    assert world.reconcile().status == "SUCCEEDED"
    blue_id = instance(world, "life-blue")["DbiResourceId"]
    deployment = world.start_blue_green(
        DB_INSTANCE, "life-blue", target_engine_version="17.2", target_parameter_group="default.postgres17"
    )
    green = deployment["Target"].rsplit(":", 1)[-1]

    assert world.reconcile().status == "SUCCEEDED"  # AutoRepair is on
    item = world.registry_item("instance--life-blue")
    assert instance(world, green)["DBParameterGroups"][0]["DBParameterGroupName"] == "pgaudit-life-blue-postgres17"
    assert [d["kind"] for d in item["last_verification"]["drift_details"]] == ["green-pgaudit-not-loaded"]
    assert f"aws rds reboot-db-instance --db-instance-identifier {green}" in item["last_verification"]["drift"][0]
    world.client("rds", SOURCE_ACCOUNT).reboot_db_instance(DBInstanceIdentifier=green)  # the owner's reboot
    assert world.reconcile().status == "SUCCEEDED"
    assert world.registry_item("instance--life-blue")["status"] == "active"

    world.switchover(deployment["BlueGreenDeploymentIdentifier"])
    world.delete_database(DB_INSTANCE, "life-blue-old1")  # before any run saw the switchover
    green_id = instance(world, "life-blue")["DbiResourceId"]
    assert world.reconcile().status == "SUCCEEDED"

    item = world.registry_item("instance--life-blue")
    assert (item["status"], item["resource_id"]) == ("active", green_id)
    assert (item["switched_over"]["old_blue"], item["switched_over"]["from_resource_id"]) == ("life-blue-old1", blue_id)
    assert filters(world, database_log_group(DB_INSTANCE, "life-blue")) == ["pgaudit-archiver"]
