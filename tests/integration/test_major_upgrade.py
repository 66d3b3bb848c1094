"""A major version upgrade of an onboarded cluster, on the emulation: RDS's family rule enforced as AWS words it, then
reconciliation's repair and offboarding on the new family (issue 19: they failed on every run before)."""

import pytest
from botocore.exceptions import ClientError

from local import SOURCE_ACCOUNT, World


@pytest.fixture(scope="module")
def world():
    with World(parameters={"AutoRepair": "true"}) as emulated:
        yield emulated


def rds(world):
    return world.client("rds", SOURCE_ACCOUNT)


def cluster(world, cluster_id):
    return rds(world).describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]


def upgrade(world, cluster_id, version="16.4", **options):
    rds(world).modify_db_cluster(
        DBClusterIdentifier=cluster_id, EngineVersion=version, AllowMajorVersionUpgrade=True, ApplyImmediately=True,
        **options,
    )  # fmt: skip


def test_rds_attaches_a_group_only_to_a_cluster_of_its_family(world):
    world.create_cluster("fidelity", engine_version="15.4")
    rds(world).create_db_cluster_parameter_group(
        DBClusterParameterGroupName="sixteen", DBParameterGroupFamily="aurora-postgresql16", Description="x"
    )

    with pytest.raises(ClientError) as refused:
        rds(world).modify_db_cluster(DBClusterIdentifier="fidelity", DBClusterParameterGroupName="sixteen")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert "DBParameterGroupFamily aurora-postgresql16 cannot be used" in refused.value.response["Error"]["Message"]

    with pytest.raises(ClientError, match="AllowMajorVersionUpgrade"):
        rds(world).modify_db_cluster(DBClusterIdentifier="fidelity", EngineVersion="16.4")
    upgrade(world, "fidelity")  # a default group moves to the new family's default
    assert cluster(world, "fidelity")["DBClusterParameterGroup"] == "default.aurora-postgresql16"


def test_after_an_upgrade_reconciliation_repairs_on_the_new_family_and_offboarding_restores_its_default(world):
    world.create_cluster("orders", engine_version="15.4")
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"
    assert cluster(world, "orders")["DBClusterParameterGroup"] == "pgaudit-orders"
    with pytest.raises(ClientError, match="is custom"):
        upgrade(world, "orders")  # RDS wants a group of the new family for a cluster on a custom group
    upgrade(world, "orders", DBClusterParameterGroupName="default.aurora-postgresql16")

    run = world.reconcile("orders")

    assert run.status == "SUCCEEDED", run.cause
    repair = world.wait(world.registry_item("orders")["last_verification"]["repair"])
    assert repair.status == "SUCCEEDED", repair.cause
    repaired = world.registry_item("orders")
    assert repaired["status"] in {"active", "pending-reboot"}, repaired
    assert cluster(world, "orders")["DBClusterParameterGroup"] == "pgaudit-orders-aurora-postgresql16"
    assert world.reconcile("orders").status == "SUCCEEDED"  # and the next run finds nothing to do
    assert world.registry_item("orders")["status"] in {"active", "pending-reboot"}

    offboarding = world.offboard("orders", restore=True)

    assert offboarding.status == "SUCCEEDED", offboarding.cause
    assert cluster(world, "orders")["DBClusterParameterGroup"] == "default.aurora-postgresql16"
    changes = " ".join(offboarding.output["changes"])
    assert "instead of default.aurora-postgresql15, which is of family aurora-postgresql15" in changes
    groups = {g["DBClusterParameterGroupName"] for g in rds(world).describe_db_cluster_parameter_groups()[
        "DBClusterParameterGroups"]}  # fmt: skip
    assert not {"pgaudit-orders", "pgaudit-orders-aurora-postgresql16"} & groups
