"""Every IAM policy of both templates and of the roles the code creates: no wildcard action; cross-account
trust only with a condition; Resource "*" only on the read-only or unscopable actions that need it."""

import pytest

from local.iam import PASSED_TO_SERVICE
from local.template import ARCHIVE_TEMPLATE, SOURCE_TEMPLATE, load_settings, load_template
from pgaudit_archiver.models import Source
from pgaudit_archiver.steps.destination import access_policy
from pgaudit_archiver.steps.destination_role import permissions_policy, trust_policy

# Actions that offer no resource-level permission (Service Authorization Reference), each commented in the template.
STAR_RESOURCE_ALLOWED = {
    "logs:DescribeDestinations",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    # The quota checks before onboarding creates anything (steps/quotas.py): account-wide reads.
    "iam:GetAccountSummary",
    "firehose:ListDeliveryStreams",
    # Finding the secret an owner tagged for a cluster (steps/database_user.py): names and tags, never values.
    "secretsmanager:ListSecrets",
    # The organization's member accounts (aws/organizations.py): ListAccounts has no resource type.
    "organizations:ListAccounts",
}


def statements_in(node, found=None):
    found = [] if found is None else found
    if isinstance(node, dict):
        if "Statement" in node and isinstance(node["Statement"], list):
            found += node["Statement"]
        for value in node.values():
            statements_in(value, found)
    elif isinstance(node, list):
        for value in node:
            statements_in(value, found)
    return found


def as_list(value):
    return value if isinstance(value, list) else [value]


def runtime_policies():
    settings = load_settings({"AWS_REGION": "eu-west-1", "ARCHIVE_ACCOUNT_ID": "123456789012", "EXTERNAL_ID": "x" * 16})
    source = Source(account_id="111122223333", region="eu-west-1", cluster_id="orders")
    return [
        trust_policy(settings, source),
        permissions_policy("arn:aws:firehose:eu-west-1:123456789012:deliverystream/x"),
        access_policy(settings, source, "pgaudit-x"),
    ]


ALL_STATEMENTS = [
    *statements_in(load_template(ARCHIVE_TEMPLATE)),
    *statements_in(load_template(SOURCE_TEMPLATE)),
    *statements_in(runtime_policies()),
]


def test_policies_were_found():
    assert len(ALL_STATEMENTS) > 25


@pytest.mark.parametrize("statement", ALL_STATEMENTS, ids=lambda s: s.get("Sid") or str(s.get("Action"))[:60])
def test_no_wildcard_action(statement):
    # A Deny grants nothing: `s3:*` with aws:SecureTransport false is the S3 user guide's own TLS-only example.
    for action in as_list(statement.get("Action", [])):
        assert isinstance(action, str) and ("*" not in action or statement["Effect"] == "Deny"), action
    assert "NotAction" not in statement


@pytest.mark.parametrize("statement", ALL_STATEMENTS, ids=lambda s: s.get("Sid") or str(s.get("Action"))[:60])
def test_star_resource_only_where_no_narrower_resource_exists(statement):
    if statement.get("Effect") == "Allow" and "*" in as_list(statement.get("Resource", [])):
        assert set(as_list(statement["Action"])) <= STAR_RESOURCE_ALLOWED


@pytest.mark.parametrize("statement", ALL_STATEMENTS, ids=lambda s: s.get("Sid") or str(s.get("Action"))[:60])
def test_trust_of_another_account_or_service_has_a_condition(statement):
    if "sts:AssumeRole" not in as_list(statement.get("Action", [])) or "Principal" not in statement:
        return
    principal = statement["Principal"]
    if principal == {"Service": "lambda.amazonaws.com"}:
        return  # a function's own execution role
    assert statement.get("Condition"), statement


@pytest.mark.parametrize("statement", ALL_STATEMENTS, ids=lambda s: s.get("Sid") or str(s.get("Action"))[:60])
def test_passed_to_service_conditions_name_a_service_that_sets_the_key(statement):
    # A condition on a key the service leaves out of the request refuses every call (PassRole to CloudWatch Logs).
    for operator in (statement.get("Condition") or {}).values():
        if "iam:PassedToService" in operator:
            assert set(as_list(operator["iam:PassedToService"])) <= set(filter(None, PASSED_TO_SERVICE.values()))


def test_firehose_role_is_trusted_only_for_this_accounts_pgaudit_streams():
    (trust,) = load_template(ARCHIVE_TEMPLATE)["Resources"]["FirehoseDeliveryRole"]["Properties"][
        "AssumeRolePolicyDocument"
    ]["Statement"]
    assert trust["Condition"]["StringEquals"]["sts:ExternalId"] == {"Ref": "AWS::AccountId"}
    assert trust["Condition"]["StringEqualsIfExists"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert trust["Condition"]["ArnLikeIfExists"]["aws:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:firehose:${AWS::Region}:${AWS::AccountId}:deliverystream/pgaudit-*"
    }


def test_describe_log_groups_is_granted_on_star_as_it_has_no_resource_type():
    grants = [s for s in ALL_STATEMENTS if "logs:DescribeLogGroups" in as_list(s.get("Action", []))]
    assert grants and all(s["Resource"] == "*" for s in grants)


def test_the_transform_may_update_only_the_canary_and_last_delivery_of_a_registry_item():
    function = load_template(ARCHIVE_TEMPLATE)["Resources"]["FirehoseTransformFunction"]
    (update,) = [s for s in statements_in(function) if "dynamodb:UpdateItem" in as_list(s["Action"])]
    attributes = ["source_id", "canary", "last_delivery"]
    assert update["Condition"]["ForAllValues:StringEquals"] == {"dynamodb:Attributes": attributes}
    assert update["Condition"]["StringEqualsIfExists"] == {"dynamodb:ReturnValues": "NONE"}


# What may change or remove a role under the product's path, and the key that proves the role is the product's.
ROLE_CHANGES = {
    "iam:CreateRole": "iam:PermissionsBoundary",
    "iam:PutRolePolicy": "iam:PermissionsBoundary",
    "iam:DeleteRolePolicy": "iam:PermissionsBoundary",
    "iam:UpdateAssumeRolePolicy": "aws:ResourceTag/pgaudit-archiver:managed",  # takes no iam:PermissionsBoundary
    "iam:DeleteRole": "aws:ResourceTag/pgaudit-archiver:managed",
    "iam:TagRole": "aws:RequestTag/pgaudit-archiver:managed",  # with CreateRole, before the role has tags
}


@pytest.mark.parametrize(("action", "key"), ROLE_CHANGES.items())
def test_changes_to_the_products_roles_are_conditioned_on_the_role_being_the_products(action, key):
    grants = [s for s in ALL_STATEMENTS if s.get("Effect") == "Allow" and action in as_list(s.get("Action", []))]
    assert grants
    for grant in grants:
        keys = {name for operator in (grant.get("Condition") or {}).values() for name in operator}
        assert key in keys, grant


# IAM names are global and the archive stack is regional (one per region): each stack changes only the destination
# roles of its own region, by name (pgaudit-dest-<region>-...) or by the region tag the workflow puts on them.
REGIONAL_ROLE_CHANGES = [*ROLE_CHANGES, "iam:PassRole"]
REGION_TAG_KEYS = {"aws:ResourceTag/pgaudit-archiver:source-region", "aws:RequestTag/pgaudit-archiver:source-region"}


@pytest.mark.parametrize("action", REGIONAL_ROLE_CHANGES)
def test_a_regional_stack_changes_only_its_own_regions_destination_roles(action):
    archive = statements_in(load_template(ARCHIVE_TEMPLATE))
    grants = [
        s
        for s in archive
        if s.get("Effect") == "Allow"
        and action in as_list(s.get("Action", []))
        and any("pgaudit-dest" in str(r) or "role/pgaudit-archiver/" in str(r) for r in as_list(s["Resource"]))
    ]
    assert grants
    for grant in grants:
        keys = {name for operator in (grant.get("Condition") or {}).values() for name in operator}
        regional = "role/pgaudit-archiver/pgaudit-dest-${AWS::Region}-*"
        by_name = all(regional in str(resource) for resource in as_list(grant["Resource"]))
        assert by_name or keys & REGION_TAG_KEYS, grant


SOURCE_STATEMENTS = statements_in(load_template(SOURCE_TEMPLATE))
# What the source role may do to a database itself: only where the owner tagged it pgaudit-archiver=enabled.
CHANGES_TO_A_DATABASE = {
    ("rds:ModifyDBCluster", ":cluster:"),
    ("rds:ModifyDBInstance", ":db:"),
    ("rds:RebootDBInstance", ":db:"),
    ("rds:RebootDBCluster", ":cluster:"),
    ("rds-data:ExecuteStatement", ":cluster:"),
}


@pytest.mark.parametrize(("action", "resource_type"), sorted(CHANGES_TO_A_DATABASE))
def test_source_role_changes_a_database_of_any_kind_only_with_its_owners_consent(action, resource_type):
    granting = [
        statement
        for statement in SOURCE_STATEMENTS
        if statement["Effect"] == "Allow"
        and action in as_list(statement["Action"])
        and any(resource_type in str(resource) for resource in as_list(statement["Resource"]))
    ]
    assert granting, f"{action} on {resource_type} is not granted at all"
    for statement in granting:
        assert statement["Condition"]["StringEquals"]["aws:ResourceTag/pgaudit-archiver"] == "enabled", statement


@pytest.mark.parametrize("action", ["rds:ModifyDBCluster", "rds:ModifyDBInstance"])
def test_source_role_never_touches_the_master_user_password_of_any_kind(action):
    assert any(
        statement["Effect"] == "Deny"
        and action in as_list(statement["Action"])
        and statement.get("Condition", {}).get("Null", {}).get("rds:ManageMasterUserPassword") == "false"
        for statement in SOURCE_STATEMENTS
    )


def test_source_role_creates_and_modifies_only_its_own_parameter_groups_of_either_type():
    for action, group_type in (
        ("rds:CreateDBClusterParameterGroup", "cluster-pg"), ("rds:ModifyDBClusterParameterGroup", "cluster-pg"),
        ("rds:CreateDBParameterGroup", "pg"), ("rds:ModifyDBParameterGroup", "pg"),
        ("rds:DeleteDBParameterGroup", "pg"),
    ):  # fmt: skip
        resources = [
            resource["Fn::Sub"] if isinstance(resource, dict) else str(resource)
            for statement in SOURCE_STATEMENTS
            if statement["Effect"] == "Allow" and action in as_list(statement["Action"])
            for resource in as_list(statement["Resource"])
        ]
        assert resources and all(resource.endswith(f":{group_type}:pgaudit-*") for resource in resources), action
