"""The key that signs the API's page tokens is readable and writable by the API function's role alone. The functions
of AutoOnboardRole parse events that source accounts send: with the key they could forge a token (read from where
the caller never reached) or replace the key (every outstanding token refused). Checked on the rendered IAM policies
of every role and function of the archive stack, evaluated by the emulation's IAM evaluator, conditions ignored (an
Allow counts whatever its condition: the safe side for a "cannot")."""

import pytest

from local.iam import Effect, Request, evaluate
from local.template import ARCHIVE_TEMPLATE, PSEUDO_PARAMETERS, Rendering, load_template

TEMPLATE = load_template(ARCHIVE_TEMPLATE)
ACCOUNT, REGION = PSEUDO_PARAMETERS["AWS::AccountId"], PSEUDO_PARAMETERS["AWS::Region"]


def physical(logical_id, attribute):
    """What a Ref or GetAtt of a resource gives: tables get real table ARNs, the rest a name that says what it is."""
    if TEMPLATE["Resources"][logical_id]["Type"] == "AWS::DynamoDB::Table":
        name = f"pgaudit-archiver-{logical_id}"
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}" if attribute == "Arn" else name
    return f"arn:aws:emulated:{REGION}:{ACCOUNT}:{logical_id}" if attribute else f"pgaudit-archiver-{logical_id}"


RESOURCES = Rendering(TEMPLATE, {"ExternalId": "x" * 16}, physical).resources
KEY_TABLE = physical("PageTokenKeyTable", "Arn")

# Every DynamoDB action that reads or changes a table's items, or copies them out (a backup or export holds the key).
ITEM_ACCESS = [
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PartiQLSelect",
    "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete", "dynamodb:ConditionCheckItem",
    "dynamodb:CreateBackup", "dynamodb:ExportTableToPointInTime", "dynamodb:RestoreTableToPointInTime",
]  # fmt: skip


def identity_statements(node, found=None):
    """The statements of the identity policies in `node` (a resource-based policy's statements name a Principal)."""
    found = [] if found is None else found
    if isinstance(node, dict):
        if isinstance(node.get("Statement"), list):
            found += [s for s in node["Statement"] if isinstance(s, dict) and "Principal" not in s]
        for value in node.values():
            identity_statements(value, found)
    elif isinstance(node, list):
        for value in node:
            identity_statements(value, found)
    return found


def unconditional(statements):
    allowed = [s for s in statements if s["Effect"] == "Allow"]
    return [{key: value for key, value in s.items() if key != "Condition"} for s in allowed]


def holders_allowed(action, resource):
    """The roles and functions (their own policies) whose identity policies allow `action` on `resource`."""
    return {
        logical_id
        for logical_id, definition in RESOURCES.items()
        if evaluate([{"Statement": unconditional(identity_statements(definition))}], Request(action, resource))
        is Effect.ALLOW
    }


@pytest.mark.parametrize("action", ITEM_ACCESS)
def test_page_token_key_table_is_reachable_by_the_api_function_alone(action):
    assert holders_allowed(action, KEY_TABLE) <= {"ApiFunction"}


@pytest.mark.parametrize("action", ["dynamodb:GetItem", "dynamodb:PutItem"])
def test_api_function_reads_and_first_writes_the_page_token_key(action):
    assert "ApiFunction" in holders_allowed(action, KEY_TABLE)


@pytest.mark.parametrize("action", ITEM_ACCESS)
def test_auto_onboard_role_can_neither_read_nor_write_the_page_token_key(action):
    policies = [document["PolicyDocument"] for document in RESOURCES["AutoOnboardRole"]["Properties"]["Policies"]]
    assert evaluate(policies, Request(action, KEY_TABLE)) is not Effect.ALLOW
    # while it keeps the idempotency table it needs: the key is not there
    assert evaluate(policies, Request("dynamodb:GetItem", physical("IdempotencyTable", "Arn"))) is Effect.ALLOW


def test_page_token_key_is_read_from_its_own_table_by_the_api_and_named_to_no_other_function():
    functions = {k: r for k, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
    naming_it = {k for k, r in functions.items() if "PageTokenKeyTable" in repr(r["Properties"].get("Environment"))}
    assert naming_it == {"ApiFunction"}
    environment = functions["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["PAGE_TOKEN_KEY_TABLE"] == "pgaudit-archiver-PageTokenKeyTable"


def test_no_sam_policy_template_or_managed_policy_reaches_the_page_token_key_table():
    # SAM policy templates (DynamoDBCrudPolicy: {TableName: ...}) are no statements: none may name the key's table.
    for logical_id, definition in RESOURCES.items():
        for policy in definition.get("Properties", {}).get("Policies", []) or []:
            if isinstance(policy, dict) and "Statement" not in policy and "PolicyDocument" not in policy:
                assert "PageTokenKeyTable" not in repr(policy), logical_id
