"""The owner's consent against the archive's own source role, written from its threat model.

Asset. Power over a database: change its cluster (parameter group, exports, master password), reboot its instances,
run SQL as the owner's database user, and touch its postgresql log group (retention, subscription filters).

Control. The source role holds that power only where the owner tagged the resource pgaudit-archiver=enabled
(source-account/template.yaml, evaluated by local/iam.py as IAM does). The attacker is the source role itself,
assumed by a compromised archive account: for each condition it tries to satisfy it with the permissions it already
has (tagging, creating log groups, another spelling of the key), and to keep power after the owner takes it back.
The product's side: an onboarding without consent changes nothing and names the owner's commands; reconciliation
of a source whose owner withdrew consent repairs nothing.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from local import SOURCE_ACCOUNT, World

ROLE = "pgaudit-archiver-source"
CONSENT = {"Key": "pgaudit-archiver", "Value": "enabled"}
MANAGED = {"Key": "pgaudit-archiver:managed", "Value": "true"}
PAYROLL_GROUP = "/aws/rds/cluster/payroll/postgresql"
FUTURE_GROUP = "/aws/rds/cluster/future/postgresql"  # of a cluster that exports nothing yet


@pytest.fixture(scope="module")
def world():
    with World() as emulated:
        emulated.create_cluster("orders")  # the owner consented (cluster, instances, log group)
        emulated.create_cluster("payroll", consent=False)  # never consented; exports its log as the owner chose
        emulated.client("logs", SOURCE_ACCOUNT).create_log_group(logGroupName="/aws/rds/cluster/payroll/postgresql")
        yield emulated


def as_source_role(world, service, operation, params):
    identity = world.iam.identity(SOURCE_ACCOUNT, ROLE, "pgaudit-archiver-attacker")
    world.iam.authorize(identity, service, operation, world.region, params)


def refused(world, service, operation, params, reason="AccessDenied"):
    with pytest.raises(ClientError, match=reason):
        as_source_role(world, service, operation, params)


def arn(world, kind, name):
    return f"arn:aws:rds:{world.region}:{SOURCE_ACCOUNT}:{kind}:{name}"


def log_group(world, cluster):
    return f"arn:aws:logs:{world.region}:{SOURCE_ACCOUNT}:log-group:/aws/rds/cluster/{cluster}/postgresql"


def owner_tags(world, resource_arn):
    tags = world.client("rds", SOURCE_ACCOUNT).list_tags_for_resource(ResourceName=resource_arn)["TagList"]
    return {tag["Key"]: tag["Value"] for tag in tags}


def test_the_archives_own_tag_grants_nothing(world):
    # The old gate: the role may still add pgaudit-archiver:managed (authorized, then done), and it opens nothing.
    for resource in (arn(world, "cluster", "payroll"), arn(world, "db", "payroll-instance-1")):
        as_source_role(world, "rds", "AddTagsToResource", {"ResourceName": resource, "Tags": [MANAGED]})
        world.client("rds", SOURCE_ACCOUNT).add_tags_to_resource(ResourceName=resource, Tags=[MANAGED])

    refused(world, "rds", "ModifyDBCluster", {"DBClusterIdentifier": "payroll", "DeletionProtection": False})
    refused(world, "rds", "ModifyDBCluster", {"DBClusterIdentifier": "payroll",
                                              "DBClusterParameterGroupName": "pgaudit-evil"})  # fmt: skip
    refused(world, "rds", "RebootDBInstance", {"DBInstanceIdentifier": "payroll-instance-1"})
    refused(world, "rds-data", "ExecuteStatement", {"resourceArn": arn(world, "cluster", "payroll"),
                                                    "secretArn": "arn:x", "sql": "SELECT 1"})  # fmt: skip


@pytest.mark.parametrize(
    "tags",
    [
        [CONSENT],
        [MANAGED, CONSENT],
        [{"Key": "PGAUDIT-ARCHIVER", "Value": "enabled"}],
        [{"Key": "Pgaudit-Archiver", "Value": "enabled"}],
    ],
    ids=["consent", "with-the-managed-tag", "upper-case-key", "mixed-case-key"],
)
@pytest.mark.parametrize("resource", ["cluster", "db"])
def test_the_role_cannot_grant_itself_consent_under_any_spelling(world, tags, resource):
    name = "payroll" if resource == "cluster" else "payroll-instance-1"
    refused(world, "rds", "AddTagsToResource", {"ResourceName": arn(world, resource, name), "Tags": tags})
    assert "pgaudit-archiver" not in {key.lower() for key in owner_tags(world, arn(world, resource, name))}


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("PutRetentionPolicy", {"logGroupName": "/aws/rds/cluster/payroll/postgresql", "retentionInDays": 1}),
        ("DeleteSubscriptionFilter", {"logGroupName": "/aws/rds/cluster/payroll/postgresql", "filterName": "siem"}),
        ("PutSubscriptionFilter", {"logGroupName": "/aws/rds/cluster/payroll/postgresql", "filterName": "x",
                                   "filterPattern": "", "destinationArn": "arn:aws:logs:eu-west-1:123456789012:"
                                   "destination:pgaudit-111122223333-payroll"}),
    ],
)  # fmt: skip
def test_a_log_group_without_the_owners_tag_is_out_of_reach(world, operation, params):
    refused(world, "logs", operation, params)


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("CreateLogGroup", {"logGroupName": FUTURE_GROUP, "tags": {"pgaudit-archiver": "enabled"}}),
        ("CreateLogGroup", {"logGroupName": FUTURE_GROUP}),
        ("TagResource", {"resourceArn": "LOG_GROUP", "tags": {"pgaudit-archiver": "enabled"}}),
        ("TagResource", {"resourceArn": "LOG_GROUP", "tags": {"PgAudit-Archiver": "enabled"}}),
        ("TagLogGroup", {"logGroupName": PAYROLL_GROUP, "tags": {"pgaudit-archiver": "enabled"}}),
    ],
)  # fmt: skip
def test_the_role_can_neither_create_nor_mark_a_log_group(world, operation, params):
    # A log group it created before its cluster exports would otherwise be one it could mark and subscribe.
    params = {key: log_group(world, "payroll") if value == "LOG_GROUP" else value for key, value in params.items()}
    refused(world, "logs", operation, params)


def test_a_consented_database_is_reachable_for_what_onboarding_does_and_no_master_password(world):
    as_source_role(world, "rds", "ModifyDBCluster", {"DBClusterIdentifier": "orders",
                                                     "DBClusterParameterGroupName": "pgaudit-orders"})  # fmt: skip
    as_source_role(world, "rds", "RebootDBInstance", {"DBInstanceIdentifier": "orders-instance-1"})
    as_source_role(world, "logs", "PutRetentionPolicy", {"logGroupName": "/aws/rds/cluster/orders/postgresql",
                                                         "retentionInDays": 30})  # fmt: skip

    for manage in (True, False):
        refused(world, "rds", "ModifyDBCluster", {"DBClusterIdentifier": "orders",
                                                  "ManageMasterUserPassword": manage}, "explicit deny")  # fmt: skip


def test_consent_taken_back_cannot_be_restored_by_the_role(world):
    world.create_cluster("ledger")
    world.withdraw_consent("ledger")

    refused(world, "rds", "ModifyDBCluster", {"DBClusterIdentifier": "ledger"})
    refused(world, "rds", "AddTagsToResource", {"ResourceName": arn(world, "cluster", "ledger"), "Tags": [CONSENT]})
    refused(world, "rds", "RemoveTagsFromResource", {"ResourceName": arn(world, "cluster", "ledger"),
                                                     "TagKeys": ["pgaudit-archiver"]}, "explicit deny")  # fmt: skip


def test_onboarding_without_consent_changes_nothing_and_names_the_owners_commands(world):
    since = world.calls.mark()

    execution = world.onboard(world.request("payroll"))

    assert execution.status == "FAILED"
    assert execution.error == "ClusterNotEligibleError"
    assert "the owner has not consented" in execution.cause
    assert f"aws rds add-tags-to-resource --resource-name {arn(world, 'cluster', 'payroll')}" in execution.cause
    cluster = world.client("rds", SOURCE_ACCOUNT).describe_db_clusters(DBClusterIdentifier="payroll")["DBClusters"][0]
    assert cluster["DBClusterParameterGroup"] != "pgaudit-payroll"
    assert "postgresql" not in cluster.get("EnabledCloudwatchLogsExports", [])
    assert world.calls.mutating(since) == []


def test_the_api_answers_409_with_the_commands_and_starts_nothing(world):
    before = world.registry_item("payroll")
    since = world.calls.mark()

    answer = world.api(
        "POST",
        "/clusters",
        caller_account=SOURCE_ACCOUNT,
        body={"account_id": SOURCE_ACCOUNT, "region": world.region, "cluster_id": "payroll"},
    )

    assert answer.status == 409, answer.body
    assert "the owner has not consented" in answer.body["message"]
    assert answer.body["grant"][0] == (
        f"aws rds add-tags-to-resource --resource-name {arn(world, 'cluster', 'payroll')} "
        "--tags Key=pgaudit-archiver,Value=enabled"
    )
    assert world.registry_item("payroll") == before
    assert world.calls.mutating(since) == []


def test_reconciliation_never_regrants_consent_the_owner_took_back(world):
    # AutoRepair is on (the template's default): drift is otherwise repaired by onboarding again.
    world.create_cluster("invoices")
    assert world.onboard(world.request("invoices")).status == "SUCCEEDED"
    world.withdraw_consent("invoices", log_group=True)

    run = world.reconcile("invoices")

    assert run.status == "SUCCEEDED", run.cause
    item = world.registry_item("invoices")
    assert item["status"] == "drifted"
    [drift] = item["last_verification"]["drift_details"]
    assert drift["kind"] == "consent-withdrawn"
    assert "is not tagged pgaudit-archiver=enabled" in drift["actual"]
    tags = world.client("logs", SOURCE_ACCOUNT).list_tags_for_resource(resourceArn=log_group(world, "invoices"))
    assert "pgaudit-archiver" not in tags["tags"]


# ------------------------------------------------------------------------ DB instances and Multi-AZ DB clusters
def create_instance(world, instance_id, *, consent):
    tags = [CONSENT] if consent else []
    world.client("rds", SOURCE_ACCOUNT).create_db_instance(
        DBInstanceIdentifier=instance_id, Engine="postgres", EngineVersion="16.4", DBInstanceClass="db.t4g.micro",
        MasterUsername="owner", MasterUserPassword="owner-password-1", AllocatedStorage=20, Tags=tags,
    )  # fmt: skip
    group = f"/aws/rds/instance/{instance_id}/postgresql"
    world.client("logs", SOURCE_ACCOUNT).create_log_group(
        logGroupName=group, **({"tags": {"pgaudit-archiver": "enabled"}} if consent else {})
    )
    return group


@pytest.fixture(scope="module")
def instances(world):
    return {
        "consented": create_instance(world, "shopdb", consent=True),
        "unconsented": create_instance(world, "hrdb", consent=False),
    }


def test_an_unconsented_instance_is_out_of_reach_even_with_the_archives_own_tag(world, instances):
    as_source_role(world, "rds", "AddTagsToResource", {"ResourceName": arn(world, "db", "hrdb"), "Tags": [MANAGED]})
    world.client("rds", SOURCE_ACCOUNT).add_tags_to_resource(ResourceName=arn(world, "db", "hrdb"), Tags=[MANAGED])

    for params in (
        {"DBParameterGroupName": "pgaudit-hrdb"},
        {"CloudwatchLogsExportConfiguration": {"EnableLogTypes": ["postgresql"]}},
        {"DeletionProtection": False},
    ):
        refused(world, "rds", "ModifyDBInstance", {"DBInstanceIdentifier": "hrdb", **params})
    refused(world, "rds", "RebootDBInstance", {"DBInstanceIdentifier": "hrdb"})
    refused(world, "rds", "AddTagsToResource", {"ResourceName": arn(world, "db", "hrdb"), "Tags": [CONSENT]})
    for operation, params in (
        ("PutRetentionPolicy", {"retentionInDays": 1}),
        ("DeleteSubscriptionFilter", {"filterName": "siem"}),
        ("PutSubscriptionFilter", {"filterName": "x", "filterPattern": "", "destinationArn": "arn:aws:logs:"
                                   "eu-west-1:123456789012:destination:pgaudit-111122223333-instance--hrdb"}),
    ):  # fmt: skip
        refused(world, "logs", operation, {"logGroupName": instances["unconsented"], **params})


def test_a_consented_instance_is_reachable_for_what_onboarding_does_and_no_master_password(world, instances):
    as_source_role(world, "rds", "ModifyDBInstance", {"DBInstanceIdentifier": "shopdb",
                                                      "DBParameterGroupName": "pgaudit-shopdb"})  # fmt: skip
    as_source_role(world, "rds", "ModifyDBInstance", {
        "DBInstanceIdentifier": "shopdb", "CloudwatchLogsExportConfiguration": {"EnableLogTypes": ["postgresql"]},
    })  # fmt: skip
    as_source_role(world, "rds", "RebootDBInstance", {"DBInstanceIdentifier": "shopdb"})
    as_source_role(world, "logs", "PutRetentionPolicy", {"logGroupName": instances["consented"], "retentionInDays": 30})

    for manage in (True, False):
        refused(world, "rds", "ModifyDBInstance", {"DBInstanceIdentifier": "shopdb",
                                                   "ManageMasterUserPassword": manage}, "explicit deny")  # fmt: skip


def test_db_parameter_groups_the_role_may_change_are_its_own(world):
    as_source_role(world, "rds", "CreateDBParameterGroup", {
        "DBParameterGroupName": "pgaudit-shopdb", "DBParameterGroupFamily": "postgres16", "Description": "ours",
    })  # fmt: skip
    as_source_role(world, "rds", "ModifyDBParameterGroup", {"DBParameterGroupName": "pgaudit-shopdb", "Parameters": []})
    for operation in ("ModifyDBParameterGroup", "DeleteDBParameterGroup"):
        refused(world, "rds", operation, {"DBParameterGroupName": "owners-group", "Parameters": []})
    refused(world, "rds", "CreateDBParameterGroup", {
        "DBParameterGroupName": "evil", "DBParameterGroupFamily": "postgres16", "Description": "x",
    })  # fmt: skip


def test_reboot_db_cluster_needs_the_clusters_consent(world):
    # RebootDBCluster serves Multi-AZ DB clusters; IAM authorizes it on the cluster's own tags.
    as_source_role(world, "rds", "RebootDBCluster", {"DBClusterIdentifier": "orders"})
    refused(world, "rds", "RebootDBCluster", {"DBClusterIdentifier": "payroll"})


def test_a_blue_green_green_is_in_reach_only_while_it_carries_the_owners_own_tag(world):
    # Reconciliation gives a pending green the source's pgaudit group (steps/parameter_group.py prepare_green) through
    # the same ModifyDBInstance permission, which IAM authorizes on the green's own tags: a green its owner did not
    # mark (or unmarked), or the green of an unconsented blue, stays out of reach, and the role cannot mark it.
    world.create_instance("tills", managed_secret=False, consent=True)
    world.create_instance("safes", managed_secret=False, consent=False)
    marked = world.start_blue_green("db-instance", "tills")["Target"].rsplit(":", 1)[-1]
    unmarked = world.start_blue_green("db-instance", "safes")["Target"].rsplit(":", 1)[-1]
    attach = {"DBParameterGroupName": "pgaudit-tills"}

    as_source_role(world, "rds", "ModifyDBInstance", {"DBInstanceIdentifier": marked, **attach})
    world.client("rds", SOURCE_ACCOUNT).remove_tags_from_resource(ResourceName=arn(world, "db", marked),
                                                                  TagKeys=["pgaudit-archiver"])  # fmt: skip
    for green in (marked, unmarked):
        refused(world, "rds", "ModifyDBInstance", {"DBInstanceIdentifier": green, **attach})
        refused(world, "rds", "AddTagsToResource", {"ResourceName": arn(world, "db", green), "Tags": [CONSENT]})
