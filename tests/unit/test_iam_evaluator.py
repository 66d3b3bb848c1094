"""The emulation's IAM evaluator (local/iam.py): the policy logic a real deployment's AccessDenied comes from."""

import pytest
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from local.iam import (
    OPERATIONS,
    Call,
    Caller,
    Effect,
    Enforcer,
    Identity,
    Request,
    ResourcePolicy,
    access_denied,
    condition_holds,
    evaluate,
    trust_allows,
)

ROLE = "arn:aws:iam::123456789012:role/app"
STREAM = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/pgaudit-1-orders"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def test_evaluate_without_a_matching_statement_denies_implicitly():
    assert evaluate([policy(allow("logs:DescribeDestinations"))], Request("logs:PutDestination", "*")) is Effect.NONE


def test_evaluate_action_wildcards_match_the_prefix_and_single_characters():
    policies = [policy(allow("firehose:Put*"), allow("rds:Describe?BClusters"))]
    assert evaluate(policies, Request("firehose:PutRecordBatch", STREAM)) is Effect.ALLOW
    assert evaluate(policies, Request("rds:DescribeDBClusters", "*")) is Effect.ALLOW
    assert evaluate(policies, Request("firehose:DeleteDeliveryStream", STREAM)) is Effect.NONE


def test_evaluate_action_names_are_case_insensitive_resources_are_not():
    policies = [policy(allow("FIREHOSE:putrecordbatch", STREAM))]
    assert evaluate(policies, Request("firehose:PutRecordBatch", STREAM)) is Effect.ALLOW
    assert evaluate(policies, Request("firehose:PutRecordBatch", STREAM.upper())) is Effect.NONE


def test_evaluate_resource_wildcard_spans_slashes_and_colons():
    policies = [policy(allow("iam:GetRole", "arn:aws:iam::123456789012:role/pgaudit-archiver/*"))]
    assert evaluate(policies, Request("iam:GetRole", "arn:aws:iam::123456789012:role/pgaudit-archiver/a/b")) is (
        Effect.ALLOW
    )
    assert evaluate(policies, Request("iam:GetRole", "arn:aws:iam::123456789012:role/other")) is Effect.NONE


def test_evaluate_a_specific_resource_does_not_grant_an_action_without_resource_level_permissions():
    policies = [policy(allow("logs:DescribeDestinations", "arn:aws:logs:eu-west-1:123456789012:destination:*"))]
    assert evaluate(policies, Request("logs:DescribeDestinations", "*")) is Effect.NONE


def test_evaluate_explicit_deny_wins_over_allow_in_any_policy():
    policies = [policy(allow("firehose:*")), policy(deny("firehose:DeleteDeliveryStream", STREAM))]
    assert evaluate(policies, Request("firehose:DeleteDeliveryStream", STREAM)) is Effect.DENY
    assert evaluate(policies, Request("firehose:PutRecordBatch", STREAM)) is Effect.ALLOW


def test_evaluate_not_action_allows_everything_but_the_named_actions():
    policies = [policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})]
    assert evaluate(policies, Request("logs:PutDestination", "*")) is Effect.ALLOW
    assert evaluate(policies, Request("iam:PassRole", ROLE)) is Effect.NONE


def test_evaluate_not_resource_excludes_the_named_resources():
    policies = [policy({"Effect": "Deny", "Action": "s3:DeleteObject", "NotResource": "arn:aws:s3:::scratch/*"})]
    assert evaluate(policies, Request("s3:DeleteObject", "arn:aws:s3:::archive/key")) is Effect.DENY
    assert evaluate(policies, Request("s3:DeleteObject", "arn:aws:s3:::scratch/key")) is Effect.NONE


def test_condition_string_equals_needs_the_key_present_and_equal():
    condition = {"StringEquals": {"iam:PassedToService": "firehose.amazonaws.com"}}
    assert condition_holds(condition, Request("iam:PassRole", ROLE, {"iam:PassedToService": "firehose.amazonaws.com"}))
    assert not condition_holds(condition, Request("iam:PassRole", ROLE, {"iam:PassedToService": "logs.amazonaws.com"}))
    assert not condition_holds(condition, Request("iam:PassRole", ROLE, {}))  # a service that sets no key


def test_condition_keys_are_case_insensitive_values_case_sensitive():
    condition = {"StringEquals": {"STS:EXTERNALID": "Secret-1"}}
    assert condition_holds(condition, Request("sts:AssumeRole", ROLE, {"sts:ExternalId": "Secret-1"}))
    assert not condition_holds(condition, Request("sts:AssumeRole", ROLE, {"sts:ExternalId": "secret-1"}))


def test_condition_negated_operator_holds_when_the_key_is_missing():
    condition = {"StringNotEquals": {"aws:PrincipalAccount": "111122223333"}}
    assert condition_holds(condition, Request("x:Y", "*", {}))
    assert not condition_holds(condition, Request("x:Y", "*", {"aws:PrincipalAccount": "111122223333"}))


def test_condition_like_operators_take_wildcards_and_any_listed_value():
    condition = {"StringLike": {"aws:SourceArn": ["arn:aws:logs:eu-west-1:111122223333:*", "arn:aws:logs:*:1:*"]}}
    assert condition_holds(condition, Request("sts:AssumeRole", ROLE, {"aws:SourceArn": "arn:aws:logs:eu-west-1:1:x"}))
    assert not condition_holds(
        condition, Request("sts:AssumeRole", ROLE, {"aws:SourceArn": "arn:aws:logs:eu-west-1:2:x"})
    )
    arn_like = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/pgaudit-*"}}
    assert condition_holds(
        arn_like, Request("x:Y", "*", {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/pgaudit-a"})
    )


def test_condition_every_operator_and_key_must_hold():
    condition = {
        "StringEquals": {"sts:ExternalId": "e"},
        "ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"]},
    }
    listed = {"sts:ExternalId": "e", "aws:PrincipalArn": "arn:aws:iam::1:role/b"}
    unlisted = {"sts:ExternalId": "e", "aws:PrincipalArn": "arn:aws:iam::1:role/c"}
    assert condition_holds(condition, Request("sts:AssumeRole", ROLE, listed))
    assert not condition_holds(condition, Request("sts:AssumeRole", ROLE, unlisted))


def test_condition_bool_null_and_if_exists():
    assert condition_holds(
        {"Bool": {"aws:SecureTransport": "false"}}, Request("s3:GetObject", "*", {"aws:SecureTransport": False})
    )
    assert not condition_holds(
        {"Bool": {"aws:SecureTransport": "false"}}, Request("s3:GetObject", "*", {"aws:SecureTransport": True})
    )
    assert condition_holds({"Null": {"aws:RequestTag/owner": "true"}}, Request("x:Y", "*", {}))
    assert not condition_holds({"Null": {"aws:RequestTag/owner": "false"}}, Request("x:Y", "*", {}))
    assert condition_holds({"StringEqualsIfExists": {"aws:RequestTag/owner": "me"}}, Request("x:Y", "*", {}))
    assert not condition_holds(
        {"StringEqualsIfExists": {"aws:RequestTag/owner": "me"}}, Request("x:Y", "*", {"aws:RequestTag/owner": "you"})
    )


def test_condition_set_operators_over_multivalued_keys():
    any_value = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner"]}}
    all_values = {"ForAllValues:StringEquals": {"aws:TagKeys": ["owner", "team"]}}
    assert condition_holds(any_value, Request("x:Y", "*", {"aws:TagKeys": ["other", "owner"]}))
    assert not condition_holds(any_value, Request("x:Y", "*", {"aws:TagKeys": ["other"]}))
    assert condition_holds(all_values, Request("x:Y", "*", {"aws:TagKeys": ["owner"]}))
    assert not condition_holds(all_values, Request("x:Y", "*", {"aws:TagKeys": ["owner", "other"]}))
    assert condition_holds(all_values, Request("x:Y", "*", {}))  # vacuously true, as IAM documents


@pytest.mark.parametrize(
    "operator",
    ["ForAnyValue:StringEquals", "ForAnyValue:StringNotEquals", "ForAnyValue:StringEqualsIfExists",
     "ForAnyValue:StringNotLikeIfExists"],
)  # fmt: skip
def test_condition_for_any_value_on_a_missing_or_empty_key_is_false_even_negated_or_if_exists(operator):
    # IAM User Guide, condition set operators: with no key (or an empty set) in the request, ForAnyValue is false;
    # an IfExists inside it applies per value (re:Post, "ForAnyValue:StringEqualsIfExists behaving unexpectedly").
    condition = {operator: {"aws:TagKeys": ["owner"]}}
    assert not condition_holds(condition, Request("x:Y", "*", {}))
    assert not condition_holds(condition, Request("x:Y", "*", {"aws:TagKeys": []}))


@pytest.mark.parametrize(
    "operator",
    ["ForAllValues:StringEquals", "ForAllValues:StringNotEquals", "ForAllValues:StringEqualsIfExists",
     "ForAllValues:StringLikeIfExists"],
)  # fmt: skip
def test_condition_for_all_values_on_a_missing_key_is_true_whatever_the_operator(operator):
    # "ForAllValues ... also returns true if there are no context keys in the request" (IAM User Guide).
    assert condition_holds({operator: {"aws:TagKeys": ["owner"]}}, Request("x:Y", "*", {}))


OWN = "123456789012"
OTHER = "999999999999"


def test_evaluate_resource_wildcard_stays_within_its_arn_component():
    # A log group named like the account id, in another account: a `*` in the region must not swallow the account.
    policies = [policy(allow("logs:PutRetentionPolicy", f"arn:aws:logs:*:{OWN}:*"))]
    own = f"arn:aws:logs:eu-west-1:{OWN}:log-group:/aws/rds/cluster/a/postgresql:*"
    foreign = f"arn:aws:logs:eu-west-1:{OTHER}:log-group:{OWN}:*"
    assert evaluate(policies, Request("logs:PutRetentionPolicy", own)) is Effect.ALLOW
    assert evaluate(policies, Request("logs:PutRetentionPolicy", foreign)) is Effect.NONE


def test_evaluate_resource_wildcard_in_the_last_component_spans_colons_and_slashes():
    # "arn:aws:s3:::bucket/*": the resource component is "bucket/*", matching any key, colons included; and a
    # pattern's trailing `*` "can expand to match beyond the colon boundaries" (IAM User Guide, Resource element).
    objects = [policy(allow("s3:PutObject", "arn:aws:s3:::archive/*"))]
    assert evaluate(objects, Request("s3:PutObject", "arn:aws:s3:::archive/pgaudit/a:b/c.gz")) is Effect.ALLOW
    assert evaluate(objects, Request("s3:PutObject", "arn:aws:s3:::archive-other/key")) is Effect.NONE
    short = [policy(allow("logs:PutRetentionPolicy", f"arn:aws:logs:eu-west-1:{OWN}:*"))]
    assert evaluate(short, Request("logs:PutRetentionPolicy", f"arn:aws:logs:eu-west-1:{OWN}:log-group:g:*")) is (
        Effect.ALLOW
    )
    shorter = [policy(allow("logs:PutRetentionPolicy", "arn:aws:logs:eu-west-1:*"))]
    assert evaluate(shorter, Request("logs:PutRetentionPolicy", f"arn:aws:logs:eu-west-1:{OWN}:log-group:g:*")) is (
        Effect.ALLOW
    )


def test_condition_arn_operators_match_each_component_separately():
    condition = {"ArnLike": {"aws:SourceArn": f"arn:aws:logs:*:{OWN}:*"}}
    assert condition_holds(condition, Request("x:Y", "*", {"aws:SourceArn": f"arn:aws:logs:eu-west-1:{OWN}:x"}))
    assert not condition_holds(
        condition, Request("x:Y", "*", {"aws:SourceArn": f"arn:aws:logs:eu-west-1:{OTHER}:log-group:{OWN}:*"})
    )
    not_like = {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::*:role/{OWN}"}}
    sneaky = f"arn:aws:iam::{OTHER}:role/x:{OWN}:role/{OWN}"  # not one role: the account component differs
    assert condition_holds(not_like, Request("x:Y", "*", {"aws:PrincipalArn": sneaky}))


def test_identity_permissions_boundary_intersects_with_the_role_policy():
    caller = Caller("123456789012", ROLE, "s")
    boundary = policy(
        allow(["firehose:PutRecord", "firehose:PutRecordBatch"], "arn:aws:firehose:*:*:deliverystream/pgaudit-*")
    )
    generous = Identity(caller, (policy(allow(["firehose:*"], "*")),), boundary)
    assert generous.refusal(Request("firehose:PutRecordBatch", STREAM)) is None
    refused = generous.refusal(Request("firehose:DeleteDeliveryStream", STREAM))
    assert refused == "because no permissions boundary allows the firehose:DeleteDeliveryStream action"
    narrow = Identity(caller, (policy(allow("firehose:PutRecord", STREAM)),), boundary)
    assert narrow.refusal(Request("firehose:PutRecordBatch", STREAM)) == (
        "because no identity-based policy allows the firehose:PutRecordBatch action"
    )


def test_trust_allows_names_the_caller_and_checks_conditions():
    trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "e"}, "ArnEquals": {"aws:PrincipalArn": ROLE}},
        }
    )
    caller = Caller("123456789012", ROLE, "s")
    context = {"sts:ExternalId": "e", "aws:PrincipalArn": ROLE}
    assert trust_allows(trust, Request("sts:AssumeRole", "arn:aws:iam::2:role/x", context), caller, None)
    wrong_id = {**context, "sts:ExternalId": "other"}
    assert not trust_allows(trust, Request("sts:AssumeRole", "arn:aws:iam::2:role/x", wrong_id), caller, None)
    stranger = Caller("999999999999", "arn:aws:iam::999999999999:role/app", "s")
    assert not trust_allows(trust, Request("sts:AssumeRole", "x", context), stranger, None)


def test_trust_of_a_service_principal():
    trust = policy(
        {"Effect": "Allow", "Principal": {"Service": "logs.eu-west-1.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    assert trust_allows(trust, Request("sts:AssumeRole", ROLE), None, "logs.eu-west-1.amazonaws.com")
    assert not trust_allows(trust, Request("sts:AssumeRole", ROLE), None, "logs.us-east-1.amazonaws.com")


def _call(service, operation, params, path="/pgaudit-archiver/"):
    return Call(service, operation, "eu-west-1", "123456789012", params, lambda a, n: path, lambda a, n: None)


def test_operations_name_the_action_where_it_differs_and_build_the_resource():
    (request,) = OPERATIONS[("logs", "DescribeDestinations")](_call("logs", "DescribeDestinations", {}))
    assert (request.action, request.resource) == ("logs:DescribeDestinations", "*")
    (request,) = OPERATIONS[("stepfunctions", "StartExecution")](
        _call("stepfunctions", "StartExecution", {"stateMachineArn": "arn:aws:states:eu-west-1:1:stateMachine:m"})
    )
    assert request.action == "states:StartExecution"
    (request,) = OPERATIONS[("iam", "GetRole")](_call("iam", "GetRole", {"RoleName": "r"}))
    assert request.resource == "arn:aws:iam::123456789012:role/pgaudit-archiver/r"
    (request,) = OPERATIONS[("dynamodb", "Query")](_call("dynamodb", "Query", {"TableName": "t", "IndexName": "i"}))
    assert request.resource == "arn:aws:dynamodb:eu-west-1:123456789012:table/t/index/i"


def test_operations_passing_a_role_add_pass_role_with_the_service_that_populates_it():
    requests = OPERATIONS[("firehose", "CreateDeliveryStream")](
        _call(
            "firehose",
            "CreateDeliveryStream",
            {
                "DeliveryStreamName": "pgaudit-1-orders",
                "ExtendedS3DestinationConfiguration": {"RoleARN": ROLE},
                "Tags": [{"Key": "k", "Value": "v"}],
            },
        )
    )
    assert [r.action for r in requests] == [
        "firehose:CreateDeliveryStream",
        "iam:PassRole",
        "firehose:TagDeliveryStream",
    ]
    assert requests[1].context == {"iam:PassedToService": "firehose.amazonaws.com"}
    requests = OPERATIONS[("logs", "PutDestination")](
        _call("logs", "PutDestination", {"destinationName": "pgaudit-1-orders", "targetArn": STREAM, "roleArn": ROLE})
    )
    assert [(r.action, r.resource) for r in requests][1] == ("iam:PassRole", ROLE)
    assert requests[1].context == {}  # CloudWatch Logs does not populate iam:PassedToService


def test_access_denied_is_shaped_per_service():
    logs = access_denied("logs", "PutDestination", "m").response
    assert (logs["Error"]["Code"], logs["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDeniedException", 400)
    rds = access_denied("rds", "ModifyDBCluster", "m").response
    assert (rds["Error"]["Code"], rds["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    data = access_denied("rds-data", "ExecuteStatement", "m").response
    assert (data["Error"]["Code"], data["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDeniedException", 403)


def test_update_item_names_the_top_level_attributes_it_touches_in_dynamodb_attributes():
    params = {
        "TableName": "t",
        "Key": {"source_id": "1#eu-west-1#orders"},
        "UpdateExpression": "SET #f0 = :f0, #f1.arrived_at = if_not_exists(#f1.arrived_at, :f1), n[0] = :n "
        "REMOVE old_field",
        "ConditionExpression": "attribute_exists(source_id) AND #s IN (:a, :b)",
        "ExpressionAttributeNames": {"#f0": "canary", "#f1": "status_detail", "#s": "status"},
        "ReturnValues": "ALL_OLD",
    }
    (request,) = OPERATIONS[("dynamodb", "UpdateItem")](_call("dynamodb", "UpdateItem", params))

    assert request.value("dynamodb:Attributes") == ["canary", "status_detail", "n", "old_field", "source_id", "status"]
    assert request.value("dynamodb:ReturnValues") == "ALL_OLD"
    only_canary = {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["source_id", "canary"]}}
    assert not condition_holds(only_canary, request)
    canary_only = {**params, "UpdateExpression": "SET #f0 = :f0", "ConditionExpression": None, "ReturnValues": None}
    (request,) = OPERATIONS[("dynamodb", "UpdateItem")](_call("dynamodb", "UpdateItem", canary_only))
    assert request.value("dynamodb:Attributes") == ["canary"] and request.value("dynamodb:ReturnValues") is None
    assert condition_holds(only_canary, request)


def test_update_item_with_a_boto3_condition_names_its_attributes_too():
    params = {"TableName": "t", "UpdateExpression": "SET a = :a", "ConditionExpression": Attr("status").eq("x")}
    (request,) = OPERATIONS[("dynamodb", "UpdateItem")](_call("dynamodb", "UpdateItem", params))

    assert request.value("dynamodb:Attributes") == ["a", "status"]


def test_actions_on_an_existing_role_carry_its_tags_and_where_iam_takes_it_its_boundary():
    boundary = "arn:aws:iam::123456789012:policy/boundary"
    call = Call(
        "iam", "DeleteRole", "eu-west-1", "123456789012", {"RoleName": "r"},
        lambda a, n: "/pgaudit-archiver/", lambda a, n: boundary, lambda a, n: {"pgaudit-archiver:managed": "true"},
    )  # fmt: skip
    managed = {"StringEquals": {"aws:ResourceTag/pgaudit-archiver:managed": "true"}}

    (delete_role,) = OPERATIONS[("iam", "DeleteRole")](call)
    (update_trust,) = OPERATIONS[("iam", "UpdateAssumeRolePolicy")](call)
    (delete_policy,) = OPERATIONS[("iam", "DeleteRolePolicy")](call)

    assert condition_holds(managed, delete_role) and condition_holds(managed, update_trust)
    assert delete_role.value("iam:PermissionsBoundary") is None  # DeleteRole takes no such key
    assert delete_policy.value("iam:PermissionsBoundary") == boundary
    (untagged,) = OPERATIONS[("iam", "DeleteRole")](_call("iam", "DeleteRole", {"RoleName": "r"}))
    assert not condition_holds(managed, untagged)


CLUSTER = "arn:aws:rds:eu-west-1:111122223333:cluster:orders"
ONBOARDED = {"pgaudit-archiver:managed": "true"}


def _tagged_call(service, operation, params, tags):
    return Call(
        service, operation, "eu-west-1", "111122223333", params, lambda a, n: None, lambda a, n: None,
        lambda a, n: {}, lambda arn: tags.get(arn, {}),
    )  # fmt: skip


def test_rds_and_data_api_requests_carry_the_resources_tags_as_aws_resource_tag():
    secret = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:pgaudit-archiver-abc"
    tags = {CLUSTER: ONBOARDED, secret: {"pgaudit-archiver:data-api": "true"}}
    tagged = {"StringEquals": {"aws:ResourceTag/pgaudit-archiver:managed": "true"}}

    (modify,) = OPERATIONS[("rds", "ModifyDBCluster")](
        _tagged_call("rds", "ModifyDBCluster", {"DBClusterIdentifier": "orders"}, tags)
    )
    statement, read = OPERATIONS[("rds-data", "ExecuteStatement")](
        _tagged_call("rds-data", "ExecuteStatement", {"resourceArn": CLUSTER, "secretArn": secret}, tags)
    )
    (reboot,) = OPERATIONS[("rds", "RebootDBInstance")](
        _tagged_call("rds", "RebootDBInstance", {"DBInstanceIdentifier": "orders-1"}, tags)
    )

    assert condition_holds(tagged, modify) and condition_holds(tagged, statement)
    assert read.value("aws:ResourceTag/pgaudit-archiver:data-api") == "true"
    assert not condition_holds(tagged, reboot)  # the instance carries no tag of its own


def test_add_tags_to_resource_carries_request_tags_tag_keys_and_the_resources_own_tags():
    limited = {
        "StringEquals": {"aws:RequestTag/pgaudit-archiver:managed": "true"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["pgaudit-archiver:managed"]},
    }

    def add(*tags):
        params = {"ResourceName": CLUSTER, "Tags": [{"Key": k, "Value": v} for k, v in tags]}
        (request,) = OPERATIONS[("rds", "AddTagsToResource")](
            _tagged_call("rds", "AddTagsToResource", params, {CLUSTER: {"team": "orders"}})
        )
        return request

    assert add(("pgaudit-archiver:managed", "true")).value("aws:ResourceTag/team") == "orders"
    assert condition_holds(limited, add(("pgaudit-archiver:managed", "true")))
    assert not condition_holds(limited, add(("pgaudit-archiver:managed", "true"), ("owner", "me")))
    assert not condition_holds(limited, add(("pgaudit-archiver:managed", "false")))
    assert not condition_holds(limited, add(("owner", "me")))


def test_requested_region_is_the_calls_region_and_us_east_1_for_iam():
    enforcer = Enforcer()
    other_regions = deny("rds:*", Condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}})
    role_arn = "arn:aws:iam::111122223333:role/source"
    identity = Identity(
        Caller("111122223333", role_arn, "s"), (policy(allow("rds:DescribeDBClusters"), other_regions),)
    )
    params = {"DBClusterIdentifier": "orders"}

    enforcer.authorize(identity, "rds", "DescribeDBClusters", "eu-west-1", params)
    with pytest.raises(ClientError, match="with an explicit deny"):
        enforcer.authorize(identity, "rds", "DescribeDBClusters", "us-east-1", params)
    only_us_east_1 = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    iam_identity = Identity(Caller("1", role_arn, "s"), (policy(allow("iam:GetRole", Condition=only_us_east_1)),))
    enforcer.authorize(iam_identity, "iam", "GetRole", "eu-west-1", {"RoleName": "x"})  # IAM's endpoint region


SESSION_CALLER = Caller(OWN, f"arn:aws:iam::{OWN}:role/writer", "s")
OBJECT = "arn:aws:s3:::archive/pgaudit/k"
KEY = f"arn:aws:kms:eu-west-1:{OWN}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def grant(principal, action="s3:PutObject", resource="*", effect="Allow"):
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource}


def test_resource_policy_within_one_account_identity_or_resource_policy_suffices():
    nothing = Identity(SESSION_CALLER, ())
    writer = Identity(SESSION_CALLER, (policy(allow("s3:PutObject", OBJECT)),))
    empty = ResourcePolicy({}, OWN)
    to_role = ResourcePolicy(policy(grant({"AWS": SESSION_CALLER.role_arn})), OWN)
    assert writer.refusal(Request("s3:PutObject", OBJECT), empty) is None
    assert nothing.refusal(Request("s3:PutObject", OBJECT), to_role) is None
    assert nothing.refusal(Request("s3:PutObject", OBJECT), empty) == (
        "because no identity-based policy allows the s3:PutObject action"
    )


def test_resource_policy_grant_to_the_account_only_delegates_to_its_iam_policies():
    to_account = ResourcePolicy(policy(grant({"AWS": f"arn:aws:iam::{OWN}:root"})), OWN)
    assert Identity(SESSION_CALLER, ()).refusal(Request("s3:PutObject", OBJECT), to_account) is not None


def test_resource_policy_explicit_deny_wins_over_an_identity_allow():
    writer = Identity(SESSION_CALLER, (policy(allow("s3:PutObject", OBJECT)),))
    denied = ResourcePolicy(policy(grant("*", effect="Deny")), OWN)
    assert writer.refusal(Request("s3:PutObject", OBJECT), denied) == "with an explicit deny in a resource-based policy"
    not_me = ResourcePolicy(policy(grant({"AWS": f"arn:aws:iam::{OWN}:role/other"}, effect="Deny")), OWN)
    assert writer.refusal(Request("s3:PutObject", OBJECT), not_me) is None


def test_resource_policy_a_boundary_limits_a_grant_to_the_role_arn_not_to_the_session_arn():
    bounded = Identity(SESSION_CALLER, (), policy(allow("logs:*")))
    to_role = ResourcePolicy(policy(grant({"AWS": SESSION_CALLER.role_arn})), OWN)
    to_session = ResourcePolicy(policy(grant({"AWS": SESSION_CALLER.session_arn})), OWN)
    assert bounded.refusal(Request("s3:PutObject", OBJECT), to_role) is not None
    assert bounded.refusal(Request("s3:PutObject", OBJECT), to_session) is None


def test_resource_policy_across_accounts_needs_both_the_identity_and_the_resource_policy():
    destination = f"arn:aws:logs:eu-west-1:{OTHER}:destination:pgaudit-x"
    subscriber = Identity(SESSION_CALLER, (policy(allow("logs:PutSubscriptionFilter", destination)),))
    access = ResourcePolicy(policy(grant({"AWS": OWN}, "logs:PutSubscriptionFilter", destination)), OTHER)
    request = Request("logs:PutSubscriptionFilter", destination)
    assert subscriber.refusal(request, access) is None
    assert Identity(SESSION_CALLER, ()).refusal(request, access) == (
        "because no identity-based policy allows the logs:PutSubscriptionFilter action"
    )
    assert subscriber.refusal(request, ResourcePolicy({}, OTHER)) == (
        "because no resource-based policy allows the logs:PutSubscriptionFilter action"
    )


def test_key_policy_must_allow_even_when_the_identity_policy_does():
    user = Identity(SESSION_CALLER, (policy(allow("kms:GenerateDataKey", KEY)),))
    request = Request("kms:GenerateDataKey", KEY)
    delegating = ResourcePolicy(policy(grant({"AWS": f"arn:aws:iam::{OWN}:root"}, "kms:*")), OWN, key_policy=True)
    silent = ResourcePolicy(policy(grant({"AWS": f"arn:aws:iam::{OTHER}:root"}, "kms:*")), OWN, key_policy=True)
    assert user.refusal(request, delegating) is None
    assert user.refusal(request, silent) == "because no resource-based policy allows the kms:GenerateDataKey action"
    assert Identity(SESSION_CALLER, ()).refusal(request, delegating) is not None  # delegation needs the IAM grant
    direct = ResourcePolicy(
        policy(grant({"AWS": SESSION_CALLER.role_arn}, "kms:GenerateDataKey")), OWN, key_policy=True
    )
    assert Identity(SESSION_CALLER, ()).refusal(request, direct) is None
