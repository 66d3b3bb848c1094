"""IAM enforced in the emulation: each function calls AWS with its own role's policies (and the source role's
after AssumeRole); what the templates do not allow is refused as AWS refuses it."""

import copy
import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.kms.models import kms_backends

import local.world
from local import ARCHIVE_ACCOUNT, SOURCE_ACCOUNT, World
from local.template import ARCHIVE_TEMPLATE, SOURCE_TEMPLATE, archive_functions, load_template
from pgaudit_archiver.steps import destination as destination_step

CANARY_REQUEST = {"reboot": "immediate", "pgaudit_log": "ddl,role,write,read", "canary": True}
ADMIN_SESSION = f"arn:aws:sts::{ARCHIVE_ACCOUNT}:assumed-role/platform-admin/alice"
# No AWS call of its own: it publishes its metric as an EMF log line.
NO_AWS_CALLS = {"PublishRunSummaryFunction"}


def send_audit_line(world, cluster, statement="create table t (id int)"):
    logs = world.client("logs", SOURCE_ACCOUNT)
    group = f"/aws/rds/cluster/{cluster}/postgresql"
    stream = f"{cluster}-instance-1"
    if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=f"{cluster}-instance-1",
        logEvents=[
            {
                "timestamp": int(datetime.now(tz=UTC).timestamp() * 1000),
                "message": "2026-11-26 10:00:00 UTC:10.0.0.5(5):app@appdb:[7]:LOG:  AUDIT: SESSION,1,1,DDL,"
                f"CREATE TABLE,TABLE,public.t,{statement},<not logged>",
            }
        ],
    )


def test_every_function_makes_its_real_calls_with_its_own_role_and_none_is_refused():
    parameters = {"AdminPrincipalArns": f"arn:aws:iam::{ARCHIVE_ACCOUNT}:role/platform-admin",
                  "AutoRepair": "false", "DiscoverySchedule": "rate(1 day)"}  # fmt: skip
    with World(parameters=parameters) as world:
        world.create_cluster("orders", instances=2)
        world.create_cluster("tagged", tags={"pgaudit-archiver": "enabled"})
        assert world.onboard(world.request("orders", **CANARY_REQUEST)).status == "SUCCEEDED"
        send_audit_line(world, "orders")
        assert world.reconcile().status == "SUCCEEDED"  # sends the canary; no database here to log it
        canary = world.registry_item("orders")["canary"]["id"]
        send_audit_line(world, "orders", f"SELECT 'pgaudit-archiver canary {canary}'")  # as pgaudit would
        assert world.registry_item("orders")["canary"].get("arrived_at")
        assert world.send_cluster_event(world.cluster_created_event("tagged"))
        path = f"/clusters/{SOURCE_ACCOUNT}/{world.region}/orders"
        assert world.api("GET", path, caller_account=ARCHIVE_ACCOUNT, caller_arn=ADMIN_SESSION).status == 200
        assert world.onboard(world.request("missing")).status == "FAILED"  # Record Failure
        assert world.adopt(dry_run=True).status == "SUCCEEDED"  # Discover Clusters lists the account's clusters
        world.create_cluster("adopted", tags={"pgaudit-archiver": "enabled"})
        assert world.adopt().output["totals"]["onboarded"] == 1  # Claim Cluster claims it, counted for the account
        started, errored = world.lambdas.call(world.resources["ScheduledDiscoveryFunction"], {})
        assert not errored and started["started"] == [SOURCE_ACCOUNT], started
        adoptions = world.client("stepfunctions").list_executions(stateMachineArn=world.resources["AdoptStateMachine"])
        assert all(world.wait(e["executionArn"]).status == "SUCCEEDED" for e in adoptions["executions"])
        assert world.offboard("orders", restore=True).status == "SUCCEEDED"

        assert world.iam.denials == []
        assert world.fidelity.refused_deliveries == []
        assert any(r["cluster"] == "orders" for r in world.archived_records())
        # List Accounts and Start Account Adoption: the organization's accounts adopted; the management and archive
        # accounts have no source role, so their AssumeRole (and only that) is refused and they are listed failed.
        world.create_organization((SOURCE_ACCOUNT,))
        answer = world.api("POST", "/organization/adopt", caller_account=ARCHIVE_ACCOUNT, caller_arn=ADMIN_SESSION,
                           body={})  # fmt: skip
        assert answer.status == 202, answer.body
        assert world.wait(answer.body["execution_arn"], timeout=300).status == "SUCCEEDED"
        assert {denial.action for denial in world.iam.denials} <= {"sts:AssumeRole"}
        # S3 reports an archived object (the emulation does not wire the bucket's notifications): its partition.
        key = next(key for key, _ in world.archived_objects("pgaudit/"))
        bucket = world.resources["ArchiveBucket"]
        notification = {
            "Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]
        }
        registered, errored = world.lambdas.call(world.resources["RegisterFleetPartitionsFunction"], notification)
        assert not errored and registered["created"] == 1, registered
        callers = {function for function, *_ in world.iam.authorized}
        functions = {world.resources[spec.logical_id]: spec.logical_id for spec in archive_functions(world.template)}
        assert {functions[name] for name in callers} == set(functions.values()) - NO_AWS_CALLS
        roles = {role for _, role, *_ in world.iam.authorized}
        assert "pgaudit-archiver-source" in roles  # the source role, after AssumeRole


def run_as(world, logical_id, body):
    """Run `body` inside the function's handler, as the product's code runs (the emulation knows its role)."""
    function = world.lambdas.lookup(world.resources[logical_id])
    original, outcome = function.handler, {}

    def handler(event, context):
        try:
            outcome["result"] = body()
        except Exception as error:  # the ClientError, with its response
            outcome["error"] = error

    function.handler = handler
    try:
        world.lambdas.call(function.name, {})
    finally:
        function.handler = original
    return outcome


@pytest.mark.parametrize(
    ("logical_id", "service", "call", "code", "status", "action"),
    [
        ("ValidateOffboardingFunction", "dynamodb",
         lambda c, w: c.delete_item(TableName=w.resources["RegistryTable"], Key={"source_id": {"S": "x"}}),
         "AccessDeniedException", 400, "dynamodb:DeleteItem"),
        ("DeleteDeliveryStreamFunction", "logs",
         lambda c, w: c.delete_destination(destinationName="pgaudit-111122223333-orders"),
         "AccessDeniedException", 400, "logs:DeleteDestination"),
        ("EnsureDeliveryStreamFunction", "iam", lambda c, w: c.get_role(RoleName="pgaudit-archiver-SourceAccessRole"),
         "AccessDenied", 403, "iam:GetRole"),
        ("RegisterExecutionFunction", "stepfunctions",
         lambda c, w: c.start_execution(stateMachineArn=w.resources["OnboardStateMachine"], input="{}"),
         "AccessDeniedException", 400, "states:StartExecution"),
        ("SummarizeOnboardingFunction", "firehose",
         lambda c, w: c.delete_delivery_stream(DeliveryStreamName="pgaudit-111122223333-orders"),
         "AccessDeniedException", 400, "firehose:DeleteDeliveryStream"),
    ],
)  # fmt: skip
def test_a_call_outside_the_functions_policy_is_refused_as_the_service_refuses_it(
    world, logical_id, service, call, code, status, action
):
    outcome = run_as(world, logical_id, lambda: call(boto3.client(service, region_name=world.region), world))

    response = outcome["error"].response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
    session = f"arn:aws:sts::{ARCHIVE_ACCOUNT}:assumed-role/pgaudit-archiver-{logical_id}Role/"
    assert response["Error"]["Message"].startswith(f"User: {session}pgaudit-archiver-{logical_id}")
    assert response["Error"]["Message"].endswith(f"because no identity-based policy allows the {action} action")
    assert [denial.action for denial in world.iam.denials] == [action]


def test_a_refused_call_never_reaches_the_service(world):
    table = world.resources["RegistryTable"]
    world.client("dynamodb").put_item(TableName=table, Item={"source_id": {"S": "kept"}})

    outcome = run_as(world, "ValidateOffboardingFunction", lambda: boto3.client("dynamodb").delete_item(
        TableName=table, Key={"source_id": {"S": "kept"}}))  # fmt: skip

    assert "error" in outcome
    assert "Item" in world.client("dynamodb").get_item(TableName=table, Key={"source_id": {"S": "kept"}})


def test_source_role_refuses_what_its_policy_does_not_allow_with_rds_error_shape(world):
    world.create_parameter_group("owners")

    def delete_cluster():
        sts = boto3.client("sts", region_name=world.region)
        role = f"arn:aws:iam::{SOURCE_ACCOUNT}:role/pgaudit-archiver-source"
        external_id = world.parameters["ExternalId"]
        credentials = sts.assume_role(RoleArn=role, RoleSessionName="probe", ExternalId=external_id)["Credentials"]
        rds = boto3.client("rds", region_name=world.region, aws_access_key_id=credentials["AccessKeyId"],
                           aws_secret_access_key=credentials["SecretAccessKey"],
                           aws_session_token=credentials["SessionToken"])  # fmt: skip
        return rds.delete_db_cluster_parameter_group(DBClusterParameterGroupName="owners")  # not pgaudit-*

    outcome = run_as(world, "ValidateRequestFunction", delete_cluster)

    response = outcome["error"].response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    assert response["Error"]["Message"] == (
        f"User: arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/pgaudit-archiver-source/probe is not authorized to "
        f"perform: rds:DeleteDBClusterParameterGroup on resource: arn:aws:rds:{world.region}:{SOURCE_ACCOUNT}:"
        "cluster-pg:owners because no identity-based policy allows the rds:DeleteDBClusterParameterGroup action"
    )


def test_the_source_role_trusts_only_the_listed_archive_roles(world):
    world.create_cluster("orders")
    iam = world.client("iam", SOURCE_ACCOUNT)
    trust = json.loads(json.dumps(iam.get_role(RoleName="pgaudit-archiver-source")["Role"]["AssumeRolePolicyDocument"]))
    trust["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"] = [world.resources["AutoOnboardRole.Arn"]]
    iam.update_assume_role_policy(RoleName="pgaudit-archiver-source", PolicyDocument=json.dumps(trust))

    execution = world.onboard(world.request("orders"))

    assert (execution.status, execution.error) == ("FAILED", "SourceAccessDeniedError")
    [denial] = world.iam.denials
    assert (denial.action, denial.resource) == (
        "sts:AssumeRole", f"arn:aws:iam::{SOURCE_ACCOUNT}:role/pgaudit-archiver-source"
    )  # fmt: skip


def without_action(template, logical_id, action):
    """A copy of the template whose resource `logical_id` no longer grants `action`."""
    changed = copy.deepcopy(template)
    found = []

    def strip(node):
        if isinstance(node, dict):
            if "Action" in node and "Effect" in node:
                actions = node["Action"] if isinstance(node["Action"], list) else [node["Action"]]
                if action in actions:
                    found.append(node)
                    node["Action"] = [a for a in actions if a != action] or ["none:Nothing"]
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(changed["Resources"][logical_id])
    assert found, f"{logical_id} does not grant {action}"
    return changed


@pytest.mark.parametrize(
    ("template", "logical_id", "action", "failed_step"),
    [
        (ARCHIVE_TEMPLATE, "EnsureDeliveryStreamFunction", "firehose:CreateDeliveryStream", "Ensure Delivery Stream"),
        (ARCHIVE_TEMPLATE, "EnsureDeliveryStreamFunction", "firehose:TagDeliveryStream", "Ensure Delivery Stream"),
        (ARCHIVE_TEMPLATE, "EnsureDeliveryStreamFunction", "iam:PassRole", "Ensure Delivery Stream"),
        (ARCHIVE_TEMPLATE, "EnsureDestinationRoleFunction", "iam:CreateRole", "Ensure Destination Role"),
        (ARCHIVE_TEMPLATE, "EnsureDestinationFunction", "logs:PutDestinationPolicy", "Ensure Destination"),
        (ARCHIVE_TEMPLATE, "RegisterExecutionFunction", "dynamodb:UpdateItem", "Register Execution"),
        (SOURCE_TEMPLATE, "SourceRole", "rds:ModifyDBClusterParameterGroup",
         "Configure Parameter Group"),
        (SOURCE_TEMPLATE, "SourceRole", "logs:PutRetentionPolicy", "Enable Log Export"),
        (SOURCE_TEMPLATE, "SourceRole", "logs:PutSubscriptionFilter", "Ensure Subscription Filter"),
    ],
)  # fmt: skip
def test_an_action_removed_from_a_template_fails_onboarding_naming_it(
    monkeypatch, template, logical_id, action, failed_step
):
    original = load_template

    def load(path):
        loaded = original(path)
        return without_action(loaded, logical_id, action) if path == template else loaded

    monkeypatch.setattr(local.world, "load_template", load)
    with World() as world:
        world.create_cluster("orders")
        # The owner's log group keeps a day: onboarding raises it to the request's retention.
        logs = world.client("logs", SOURCE_ACCOUNT)
        logs.put_retention_policy(logGroupName="/aws/rds/cluster/orders/postgresql", retentionInDays=1)
        execution = world.onboard(world.request("orders"))

        assert execution.status == "FAILED"
        assert action in execution.cause and "AccessDenied" in execution.cause, execution.cause
        assert execution.cause.startswith(f"{failed_step} failed for cluster orders"), execution.cause
        assert {denial.action for denial in world.iam.denials} == {action}


def test_the_destination_role_delivers_only_within_its_permissions_boundary(monkeypatch):
    original = load_template

    def load(path):
        loaded = original(path)
        return (
            without_action(loaded, "DestinationRoleBoundary", "firehose:PutRecordBatch")
            if (path == ARCHIVE_TEMPLATE)
            else loaded
        )

    monkeypatch.setattr(local.world, "load_template", load)
    with World() as world:
        world.create_cluster("orders")
        assert world.onboard(world.request("orders")).status == "SUCCEEDED"  # the role's own policy allows it

        send_audit_line(world, "orders")

        [refusal] = world.fidelity.refused_deliveries
        assert "firehose:PutRecordBatch" in refusal and "because no permissions boundary allows" in refusal
        assert world.archived_records() == []


def test_the_destination_role_must_trust_logs_for_the_source_account(world):
    world.create_cluster("orders")
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"
    iam, name = world.client("iam"), f"pgaudit-dest-eu-west-1-{SOURCE_ACCOUNT}"
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    trust["Statement"][0]["Condition"]["StringLike"]["aws:SourceArn"] = [
        f"arn:aws:logs:{world.region}:{ARCHIVE_ACCOUNT}:*"
    ]
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))

    send_audit_line(world, "orders")

    [refusal] = world.fidelity.refused_deliveries
    assert f"aws:SourceArn arn:aws:logs:{world.region}:{SOURCE_ACCOUNT}:log-group:" in refusal
    assert world.archived_records() == []


def test_an_archive_role_without_assume_role_is_refused_by_its_own_policy_not_the_trust(monkeypatch):
    original = load_template

    def load(path):
        loaded = original(path)
        return without_action(loaded, "SourceAccessRole", "sts:AssumeRole") if path == ARCHIVE_TEMPLATE else loaded

    monkeypatch.setattr(local.world, "load_template", load)
    with World() as world:
        world.create_cluster("orders")
        execution = world.onboard(world.request("orders"))

        assert (execution.status, execution.error) == ("FAILED", "SourceAccessDeniedError")
        [denial] = world.iam.denials
        assert denial.message.endswith("because no identity-based policy allows the sts:AssumeRole action")
        # The execution says why, so nobody redeploys the source account for the archive's own gap.
        assert "not authorized to perform: sts:AssumeRole" in execution.cause
        assert "check that this function's role may sts:AssumeRole it" in execution.cause


def test_create_role_is_refused_for_a_boundary_other_than_the_deployments(monkeypatch):
    original = load_template

    def load(path):
        loaded = original(path)
        if path == ARCHIVE_TEMPLATE:
            variables = loaded["Resources"]["EnsureDestinationRoleFunction"]["Properties"]["Environment"]["Variables"]
            variables["DESTINATION_ROLE_BOUNDARY_ARN"] = f"arn:aws:iam::{ARCHIVE_ACCOUNT}:policy/some-other-boundary"
        return loaded

    monkeypatch.setattr(local.world, "load_template", load)
    with World() as world:
        world.create_cluster("orders")
        execution = world.onboard(world.request("orders"))

        assert execution.status == "FAILED"
        assert execution.cause.startswith("Ensure Destination Role failed for cluster orders"), execution.cause
        [denial] = world.iam.denials
        assert denial.action == "iam:CreateRole"


def test_offboarding_after_the_destination_role_was_deleted_is_allowed_to_find_it_gone(world):
    world.create_cluster("orders")
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"
    iam, name = world.client("iam"), f"pgaudit-dest-eu-west-1-{SOURCE_ACCOUNT}"
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    iam.delete_role(RoleName=name)

    execution = world.offboard("orders")

    assert execution.status == "SUCCEEDED", execution.cause
    assert world.iam.denials == []
    lookups = [r for _, _, action, r in world.iam.authorized if action == "iam:ListRolePolicies"]
    assert lookups == [f"arn:aws:iam::{ARCHIVE_ACCOUNT}:role/{name}"]  # a missing role has no path


@pytest.mark.parametrize(
    ("action", "archived_under"),
    [("s3:PutObject", None), ("lambda:InvokeFunction", "errors/")],  # without the processor: the error prefix
)
def test_firehose_delivers_with_what_its_role_allows(monkeypatch, action, archived_under):
    original = load_template

    def load(path):
        loaded = original(path)
        return without_action(loaded, "FirehoseDeliveryRole", action) if path == ARCHIVE_TEMPLATE else loaded

    monkeypatch.setattr(local.world, "load_template", load)
    with World() as world:
        world.create_cluster("orders")
        assert world.onboard(world.request("orders")).status == "SUCCEEDED"

        send_audit_line(world, "orders")

        assert world.fidelity.refused_deliveries
        assert all(action in refusal for refusal in world.fidelity.refused_deliveries)
        keys = [key for key, _ in world.archived_objects()]
        if archived_under is None:
            assert keys == []
        else:
            assert keys and all(key.startswith(archived_under) for key in keys)


def test_firehose_may_use_the_delivery_role_only_for_the_products_streams(world):
    role = world.resources["FirehoseDeliveryRole.Arn"]
    stream = f"arn:aws:firehose:{world.region}:{ARCHIVE_ACCOUNT}:deliverystream/"
    object_arn = f"arn:aws:s3:::{world.resources['ArchiveBucket']}/pgaudit/x"

    assert world.iam.firehose_refusal(role, f"{stream}pgaudit-orders", "s3:PutObject", object_arn) is None
    refusal = world.iam.firehose_refusal(role, f"{stream}someone-elses", "s3:PutObject", object_arn)

    assert refusal == f"firehose.amazonaws.com may not assume {role} for {stream}someone-elses"


@pytest.mark.parametrize(
    ("update", "return_values", "allowed"),
    [
        ("SET #f0 = :f0", None, True),  # Registry.canary_arrived
        ("SET last_delivery = :at", None, True),  # Registry.delivered
        ("SET last_delivery = :at, #s = :s", None, False),
        ("SET #f0 = :f0, #s = :s", None, False),  # the status too
        ("SET #f0 = :f0", "ALL_OLD", False),  # reading the item back through the update
    ],
)
def test_the_transform_may_update_only_the_canary_and_last_delivery_of_a_registry_item(
    world, update, return_values, allowed
):
    function = world.resources["FirehoseTransformFunction"]
    identity = world.iam.identity(*world.iam.function_roles[function], function)
    params = {
        "TableName": world.resources["RegistryTable"],
        "Key": {"source_id": f"{SOURCE_ACCOUNT}#{world.region}#orders"},
        "UpdateExpression": update,
        "ExpressionAttributeNames": {"#f0": "canary", **({"#s": "status"} if "#s" in update else {})},
        **({"ReturnValues": return_values} if return_values else {}),
    }

    if allowed:
        world.iam.authorize(identity, "dynamodb", "UpdateItem", world.region, params, function)
    else:
        with pytest.raises(ClientError) as refused:
            world.iam.authorize(identity, "dynamodb", "UpdateItem", world.region, params, function)
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        assert "with an explicit deny" not in refused.value.response["Error"]["Message"]


def test_a_destination_role_without_the_products_tag_keeps_its_trust_and_is_not_deleted(world):
    world.create_cluster("orders")
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"
    iam, name = world.client("iam"), f"pgaudit-dest-eu-west-1-{SOURCE_ACCOUNT}"
    iam.untag_role(RoleName=name, TagKeys=["pgaudit-archiver:managed"])  # as if someone else's role
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    trust["Statement"][0]["Condition"]["StringLike"]["aws:SourceArn"] = ["arn:aws:logs:*:*:*"]
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))

    assert world.onboard(world.request("orders")).status == "FAILED"
    assert {denial.action for denial in world.iam.denials} == {"iam:UpdateAssumeRolePolicy"}
    assert world.offboard("orders").status == "FAILED"
    assert {denial.action for denial in world.iam.denials} == {"iam:UpdateAssumeRolePolicy", "iam:DeleteRole"}
    assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name


def archive_object_arn(world, key="pgaudit/x"):
    return f"{world.resources['ArchiveBucket.Arn']}/{key}"


def test_firehose_writes_are_refused_where_the_archive_bucket_policy_denies_the_writer(world):
    # Given the template's bucket policy, plus a statement denying the delivery role its writes
    s3, bucket, role = world.client("s3"), world.resources["ArchiveBucket"], world.resources["FirehoseDeliveryRole.Arn"]
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    policy["Statement"].append(
        {"Sid": "DenyTheWriter", "Effect": "Deny", "Principal": {"AWS": role}, "Action": "s3:PutObject",
         "Resource": archive_object_arn(world, "*")}
    )  # fmt: skip
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    world.create_cluster("orders")
    assert world.onboard(world.request("orders")).status == "SUCCEEDED"

    send_audit_line(world, "orders")

    assert world.fidelity.refused_deliveries
    assert all("explicit deny in a resource-based policy" in r for r in world.fidelity.refused_deliveries)
    assert list(world.archived_objects()) == []


def test_the_template_s_bucket_policy_refuses_deleting_archived_objects_to_a_role_allowed_to(world):
    role = world.resources["FirehoseDeliveryRole.Arn"]
    stream = f"arn:aws:firehose:{world.region}:{ARCHIVE_ACCOUNT}:deliverystream/pgaudit-orders"
    world.client("iam").put_role_policy(
        RoleName=role.rsplit("/", 1)[-1],
        PolicyName="may-delete",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": archive_object_arn(world, "*")}
        ]}),
    )  # fmt: skip

    refusal = world.iam.firehose_refusal(role, stream, "s3:DeleteObject", archive_object_arn(world))

    assert refusal is not None and refusal.endswith("with an explicit deny in a resource-based policy")  # DenyDeleting
    assert world.iam.firehose_refusal(role, stream, "s3:PutObject", archive_object_arn(world)) is None


KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(("key_policy_account", "archived"), [(ARCHIVE_ACCOUNT, True), ("444455556666", False)])
def test_firehose_writes_under_the_customer_managed_key_need_its_key_policy(key_policy_account, archived):
    key_arn = f"arn:aws:kms:{local.world.REGION}:{ARCHIVE_ACCOUNT}:key/{KEY_ID}"
    with World(parameters={"ArchiveKmsKeyArn": key_arn}) as world:
        # AWS's default key policy (delegating to the account's IAM policies), for this account or another one
        key_policy = {"Version": "2012-10-17", "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{key_policy_account}:root"}, "Action": "kms:*", "Resource": "*"}
        ]}  # fmt: skip
        created = world.client("kms").create_key(Policy=json.dumps(key_policy))["KeyMetadata"]["KeyId"]
        keys = kms_backends[ARCHIVE_ACCOUNT][world.region].keys
        keys[KEY_ID] = keys.pop(created)  # the key the stack was deployed with
        world.create_cluster("orders")
        assert world.onboard(world.request("orders")).status == "SUCCEEDED"

        send_audit_line(world, "orders")

        assert bool(world.archived_records()) is archived
        if not archived:
            assert all(
                f"kms:GenerateDataKey on resource: {key_arn} because no resource-based policy allows" in refusal
                for refusal in world.fidelity.refused_deliveries
            ), world.fidelity.refused_deliveries


def test_a_destination_access_policy_s_explicit_deny_refuses_the_products_subscription(monkeypatch, world):
    original = destination_step.access_policy

    def with_deny(settings, source, name):
        policy = original(settings, source, name)
        denied = {**policy["Statement"][0], "Sid": "ButNotFromThisAccount", "Effect": "Deny"}
        return {**policy, "Statement": [*policy["Statement"], denied]}

    monkeypatch.setattr(destination_step, "access_policy", with_deny)
    world.create_cluster("orders")

    execution = world.onboard(world.request("orders"))

    assert execution.status == "FAILED"
    [denial] = world.iam.denials
    assert denial.action == "logs:PutSubscriptionFilter" and ":destination:" in denial.resource
    assert denial.message.endswith("with an explicit deny in a resource-based policy")
