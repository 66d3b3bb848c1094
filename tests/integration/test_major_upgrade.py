"""A major version upgrade of an onboarded cluster, on the emulation: RDS's family rule enforced as AWS words it, then
reconciliation's repair and offboarding on the new family (issue 19: they failed on every run before), for both kinds
of DB cluster (test_lifecycle_product.py has the DB instance's)."""

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


# The two kinds of DB cluster (Aurora PostgreSQL; a Multi-AZ DB cluster: engine postgres, DB cluster parameter groups
# of the postgres family): how the owner creates one, its major version before and after, its family's prefix.
CLUSTER_KINDS = {
    "aurora": (lambda world, name, version: world.create_cluster(name, engine_version=version, instances=1),
               "15.4", "16.4", "aurora-postgresql"),
    "multi-az": (lambda world, name, version: world.create_multi_az_cluster(name, engine_version=version),
                 "15.7", "16.3", "postgres"),
}  # fmt: skip


@pytest.mark.parametrize(("create", "old", "new", "family"), CLUSTER_KINDS.values(), ids=CLUSTER_KINDS.keys())
def test_after_an_upgrade_reconciliation_repairs_on_the_new_family_and_offboarding_restores_its_default(
    world, create, old, new, family
):
    name = f"orders-{family}"
    create(world, f"{name}-next", new)  # a database of the new version: RDS has its family's default group then
    create(world, name, old)
    assert world.onboard(world.request(name)).status == "SUCCEEDED"
    assert cluster(world, name)["DBClusterParameterGroup"] == f"pgaudit-{name}"
    with pytest.raises(ClientError, match="is custom"):
        upgrade(world, name, new)  # RDS wants a group of the new family for a cluster on a custom group
    upgrade(world, name, new, DBClusterParameterGroupName=f"default.{family}16")

    run = world.reconcile(name)

    assert run.status == "SUCCEEDED", run.cause
    repair = world.wait(world.registry_item(name)["last_verification"]["repair"])
    assert repair.status == "SUCCEEDED", repair.cause
    repaired = world.registry_item(name)
    assert repaired["status"] in {"active", "pending-reboot"}, repaired
    assert cluster(world, name)["DBClusterParameterGroup"] == f"pgaudit-{name}-{family}16"
    assert world.reconcile(name).status == "SUCCEEDED"  # and the next run finds nothing to do
    assert world.registry_item(name)["status"] in {"active", "pending-reboot"}

    offboarding = world.offboard(name, restore=True)

    assert offboarding.status == "SUCCEEDED", offboarding.cause
    assert cluster(world, name)["DBClusterParameterGroup"] == f"default.{family}16"
    changes = " ".join(offboarding.output["changes"])
    assert f"instead of default.{family}15, which is of family {family}15" in changes
    groups = {g["DBClusterParameterGroupName"] for g in rds(world).describe_db_cluster_parameter_groups()[
        "DBClusterParameterGroups"]}  # fmt: skip
    assert not {f"pgaudit-{name}", f"pgaudit-{name}-{family}16"} & groups
