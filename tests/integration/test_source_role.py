"""The source role reaches only what the owner consented to, in the regions the archive works in
(source-account/template.yaml, evaluated by local/iam.py); tests/security/test_consent.py attacks the consent."""

import pytest
from botocore.exceptions import ClientError

from local import SOURCE_ACCOUNT

ROLE = "pgaudit-archiver-source"


def source_role(world):
    return world.iam.identity(SOURCE_ACCOUNT, ROLE, "pgaudit-archiver-orders")


def authorize(world, service, operation, params, region=None):
    world.iam.authorize(source_role(world), service, operation, region or world.region, params)


def test_onboarding_tags_the_cluster_and_instances_it_changes_and_only_those_may_be_changed(world):
    world.create_cluster("orders")
    world.create_cluster("payroll", consent=False)  # never onboarded
    assert world.onboard(world.request("orders", reboot="immediate")).status == "SUCCEEDED"
    rds = world.client("rds", SOURCE_ACCOUNT)

    def tags(arn):
        return {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]}

    cluster = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]
    assert tags(cluster["DBClusterArn"])["pgaudit-archiver:managed"] == "true"
    instance = rds.describe_db_instances(DBInstanceIdentifier="orders-instance-1")["DBInstances"][0]
    assert tags(instance["DBInstanceArn"])["pgaudit-archiver:managed"] == "true"
    authorize(world, "rds", "ModifyDBCluster", {"DBClusterIdentifier": "orders"})
    for operation, params in [
        ("ModifyDBCluster", {"DBClusterIdentifier": "payroll"}),
        ("RebootDBInstance", {"DBInstanceIdentifier": "payroll-instance-1"}),
    ]:
        with pytest.raises(ClientError, match="AccessDenied"):
            authorize(world, "rds", operation, params)
    payroll = rds.describe_db_clusters(DBClusterIdentifier="payroll")["DBClusters"][0]["DBClusterArn"]
    with pytest.raises(ClientError, match="AccessDenied"):
        authorize(world, "rds-data", "ExecuteStatement", {"resourceArn": payroll, "secretArn": "arn:x", "sql": "x"})


@pytest.mark.parametrize(
    ("tags", "allowed"),
    [
        ([{"Key": "pgaudit-archiver:managed", "Value": "true"}], True),
        ([{"Key": "pgaudit-archiver:managed", "Value": "true"}, {"Key": "owner", "Value": "x"}], False),
        ([{"Key": "pgaudit-archiver:managed", "Value": "false"}], False),
        ([{"Key": "owner", "Value": "x"}], False),
    ],
)
def test_the_source_role_may_add_only_the_archives_own_tag(world, tags, allowed):
    arn = world.create_cluster("payroll", consent=False)["DBClusterArn"]
    params = {"ResourceName": arn, "Tags": tags}
    if allowed:
        authorize(world, "rds", "AddTagsToResource", params)
    else:
        with pytest.raises(ClientError, match="AccessDenied"):
            authorize(world, "rds", "AddTagsToResource", params)


def test_the_source_role_is_denied_other_regions(world):
    authorize(world, "rds", "DescribeDBClusters", {"DBClusterIdentifier": "orders"})
    with pytest.raises(ClientError, match="explicit deny"):
        authorize(world, "rds", "DescribeDBClusters", {"DBClusterIdentifier": "orders"}, region="ap-south-1")


def _statement_with(world, cluster_arn, secret_arn):
    authorize(world, "rds-data", "ExecuteStatement", {"resourceArn": cluster_arn, "secretArn": secret_arn, "sql": "x"})


def test_the_source_role_never_reads_a_master_user_secret_even_one_tagged_for_it(world):
    cluster = world.create_cluster("orders", database_user=False)
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"  # tagged: the Data API may reach it
    master = cluster["MasterUserSecret"]["SecretArn"]
    secrets = world.client("secretsmanager", SOURCE_ACCOUNT)

    with pytest.raises(ClientError, match="explicit deny"):
        _statement_with(world, cluster["DBClusterArn"], master)
    secrets.tag_resource(SecretId=master, Tags=[{"Key": "pgaudit-archiver:database-user", "Value": "true"},
                                                {"Key": "pgaudit-archiver:cluster", "Value": "orders"}])  # fmt: skip
    with pytest.raises(ClientError, match="explicit deny"):
        _statement_with(world, cluster["DBClusterArn"], master)


def test_the_source_role_reads_only_secrets_tagged_for_pgaudit_archiver(world):
    cluster = world.create_cluster("orders", database_user=False)
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"
    owners = world.create_database_user("orders")
    untagged = world.create_database_user("orders", user="app", tags={"team": "orders"})

    _statement_with(world, cluster["DBClusterArn"], owners)
    authorize(world, "secretsmanager", "ListSecrets", {})
    with pytest.raises(ClientError, match="AccessDenied"):
        _statement_with(world, cluster["DBClusterArn"], untagged)
