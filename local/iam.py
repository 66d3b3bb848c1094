"""IAM in the emulation: every AWS call the product makes is authorized as IAM would authorize it.

moto evaluates no policy, so an action, resource or condition missing from template.yaml would only show at the
first real deployment. Here each call a handler makes is turned into the IAM request(s) AWS evaluates (action,
resource ARN, condition keys: OPERATIONS below) and checked against the caller's policies: the function's own
role in the archive account, the source role after sts:AssumeRole (its trust policy too). The services' own
work is checked too: CloudWatch Logs delivering to Firehose with the destination role (trust, policy within the
permissions boundary), Firehose invoking the processor and writing to S3 with the stream's role. A refusal is
raised as AWS shapes it for the service (ERRORS).

Resource-based policies are evaluated with the caller's (Identity.refusal): S3 bucket policies, KMS key policies
(a customer managed key's, and the AWS managed aws/s3 key's as AWS publishes it), CloudWatch Logs destination
access policies, besides role trust policies. Not emulated: NotPrincipal, service control policies, session policies,
aws:PrincipalOrgID (organizations are not emulated), aws:ResourceTag/* on other resources than IAM roles, RDS
clusters and instances, CloudWatch Logs log groups and Secrets Manager secrets. Every request carries
aws:RequestedRegion (us-east-1 for IAM, a global service).
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import unquote

from boto3.dynamodb.conditions import ConditionExpressionBuilder
from botocore.exceptions import ClientError
from moto.iam.models import iam_backends
from moto.kms.models import kms_backends
from moto.logs.models import logs_backends
from moto.rds.models import rds_backends
from moto.s3.models import s3_backends
from moto.secretsmanager.models import secretsmanager_backends

# ---------------------------------------------------------------------------------------------- evaluation


class Effect(Enum):
    ALLOW = "Allow"
    DENY = "Deny"
    NONE = "None"  # no statement applies: an implicit deny


@dataclass(frozen=True)
class Request:
    """What IAM evaluates: an action on a resource, in a request context (condition keys)."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)

    def value(self, key: str) -> Any:
        """A context key's value (keys are case-insensitive), None when absent."""
        lowered = key.lower()
        return next((value for name, value in self.context.items() if name.lower() == lowered), None)


@functools.cache
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` one character."""
    return _wildcard(pattern, ignore_case).match(value) is not None


ARN_COMPONENTS = 6  # arn:partition:service:region:account:resource (the resource keeps any further colons)


def arn_matches(pattern: str, value: str) -> bool:
    """A Resource element, ArnLike or ArnEquals: "Each of the six colon-delimited components of the ARN is checked
    separately" (IAM User Guide, condition operators), so a `*` in the region cannot reach into the account. The
    resource, the last component, keeps its colons, and "If the * wildcard is the last character of a resource ARN
    segment, it can expand to match beyond the colon boundaries" (IAM User Guide, Resource element): a pattern of
    fewer components ending in `*` takes the rest of the ARN."""
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", ARN_COMPONENTS - 1), value.split(":", ARN_COMPONENTS - 1)
    if len(actual) < ARN_COMPONENTS:
        return False  # not an ARN ("*" for an action without resource types): only "*" matches it
    if len(wanted) < ARN_COMPONENTS:
        if not wanted[-1].endswith("*"):
            return False
        last = len(wanted) - 1
        actual = [*actual[:last], ":".join(actual[last:])]
    return all(matches(w, a) for w, a in zip(wanted, actual, strict=True))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _string_equals(policy: str, actual: str) -> bool:
    return policy == actual


def _string_like(policy: str, actual: str) -> bool:
    return matches(policy, actual)


def _ignore_case(policy: str, actual: str) -> bool:
    return policy.lower() == actual.lower()


def _bool(policy: str, actual: str) -> bool:
    return policy.lower() == actual.lower()


# Condition operators: (comparison, negated). ArnEquals and ArnLike both take wildcards, component by component.
OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (arn_matches, False),
    "ArnLike": (arn_matches, False),
    "ArnNotEquals": (arn_matches, True),
    "ArnNotLike": (arn_matches, True),
    "Bool": (_bool, False),
}


def _condition_key_holds(operator: str, key: str, policy_values: list[Any], request: Request) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists") and name != "IfExists"
    name = name.removesuffix("IfExists") if if_exists else name
    actual = request.value(key)
    if name == "Null":
        return any((actual is None) == (_text(value).lower() == "true") for value in policy_values)
    if name not in OPERATORS:
        raise NotImplementedError(f"condition operator {operator} is not emulated")
    compare, negated = OPERATORS[name]
    if actual is None or actual == []:
        # IAM User Guide, condition set operators: ForAllValues "also returns true if there are no context keys in
        # the request"; ForAnyValue returns false for a missing key or an empty set, with or without IfExists (an
        # IfExists there is applied per value, never to the whole set: re:Post "ForAnyValue:StringEqualsIfExists
        # behaving unexpectedly", which AWS answered so).
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return if_exists or negated  # a missing key matches nothing, so a negated operator holds
    actual_values = [_text(value) for value in _as_list(actual)]
    wanted = [_text(value) for value in policy_values]

    def one(value: str) -> bool:
        hit = any(compare(policy, value) for policy in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(value) for value in actual_values)
    return any(one(value) for value in actual_values)  # ForAnyValue, and single-valued keys


def condition_holds(condition: Mapping[str, Any] | None, request: Request) -> bool:
    """Every operator and every key in it must hold; any of a key's values may match."""
    for operator, keys in (condition or {}).items():
        for key, values in keys.items():
            if not _condition_key_holds(operator, key, _as_list(values), request):
                return False
    return True


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement:
        if not any(matches(a, request.action, ignore_case=True) for a in _as_list(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(matches(a, request.action, ignore_case=True) for a in _as_list(statement["NotAction"])):
            return False
    else:
        return False
    if "Resource" in statement:
        if not any(arn_matches(r, request.resource) for r in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement and any(
        arn_matches(r, request.resource) for r in _as_list(statement["NotResource"])
    ):
        return False
    return condition_holds(statement.get("Condition"), request)


def evaluate(policies: Iterable[Mapping[str, Any]], request: Request) -> Effect:
    """Explicit Deny wins over Allow; without either, the request is implicitly denied."""
    allowed = False
    for policy in policies:
        for statement in _as_list(policy.get("Statement", [])):
            if statement_applies(statement, request):
                if statement["Effect"] == "Deny":
                    return Effect.DENY
                allowed = True
    return Effect.ALLOW if allowed else Effect.NONE


@dataclass(frozen=True)
class Caller:
    """Who makes a request: a role session."""

    account: str
    role_arn: str  # arn:aws:iam::<account>:role/<path><name>
    session_name: str

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def session_arn(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role_name}/{self.session_name}"


def principal_matches(principal: Any, caller: Caller | None, service: str | None = None) -> bool:
    """Whether a trust policy's Principal names the caller (a role session) or the service."""
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if service is not None:
        return service in _as_list(principal.get("Service", []))
    if caller is None:
        return False
    names = {caller.account, f"arn:aws:iam::{caller.account}:root", caller.role_arn, caller.session_arn}
    return any(value == "*" or value in names for value in _as_list(principal.get("AWS", [])))


def trust_allows(trust: Mapping[str, Any], request: Request, caller: Caller | None, service: str | None) -> bool:
    """A role's trust policy: a statement whose Principal names the caller and whose conditions hold."""
    allowed = False
    for statement in _as_list(trust.get("Statement", [])):
        applies = statement_applies({k: v for k, v in statement.items() if k != "Principal"} | {"Resource": "*"},
                                    request)  # fmt: skip
        if not applies or not principal_matches(statement.get("Principal"), caller, service):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def principal_names(principal: Any, caller: Caller) -> str | None:
    """How a resource-based policy's Principal names the caller: "session" (its session ARN), "role" (its role ARN),
    "anyone" ("*"), "account" (its account: a delegation to the account's IAM policies), or None."""
    if principal == "*":
        return "anyone"
    values = _as_list(principal.get("AWS", [])) if isinstance(principal, Mapping) else []
    named = {str(value) for value in values}
    for name, arns in (("anyone", {"*"}), ("session", {caller.session_arn}), ("role", {caller.role_arn}),
                       ("account", {caller.account, f"arn:aws:iam::{caller.account}:root"})):  # fmt: skip
        if named & arns:
            return name
    return None


@dataclass(frozen=True)
class ResourcePolicy:
    """A resource-based policy (a bucket policy, a KMS key policy, a CloudWatch Logs destination's access policy) and
    the account that owns the resource. An empty document grants nothing (a destination without an access policy)."""

    document: Mapping[str, Any]
    account: str
    key_policy: bool = False  # KMS: IAM policies count only where the key policy delegates to the account

    def grants(self, request: Request, caller: Caller) -> tuple[Effect, set[str]]:
        """DENY if a statement naming the caller denies; else how the allowing statements name the caller."""
        names: set[str] = set()
        for statement in _as_list(self.document.get("Statement", [])):
            if "NotPrincipal" in statement:
                raise NotImplementedError("NotPrincipal in a resource-based policy is not emulated")
            name = principal_names(statement.get("Principal"), caller)
            if name is None or not statement_applies(statement, request):
                continue
            if statement["Effect"] == "Deny":
                return Effect.DENY, set()
            names.add(name)
        return (Effect.ALLOW if names else Effect.NONE), names


@dataclass(frozen=True)
class Identity:
    """A role's policies as IAM evaluates them for its sessions."""

    caller: Caller
    policies: tuple[Mapping[str, Any], ...]
    boundary: Mapping[str, Any] | None = None

    def refusal(self, request: Request, resource: ResourcePolicy | None = None) -> str | None:
        """Why IAM refuses the request, or None when it allows it (IAM User Guide, "Policy evaluation logic"): an
        explicit Deny in any policy wins. Within one account the identity's policies (within its boundary) or the
        resource's policy suffice, except that a grant to the account only delegates to IAM policies, and that a
        grant to the role ARN is limited by the boundary while one to the session ARN is not. Across accounts both
        the identity's policies and the resource's policy must allow. A KMS key policy must allow in every case:
        "No AWS principal has any permissions to a KMS key unless that permission is explicitly allowed in the key
        policy" (KMS developer guide, "Key policies"), directly or by delegating to the account's IAM policies."""
        effect = evaluate(self.policies, request)
        boundary = evaluate([self.boundary], request) if self.boundary is not None else Effect.ALLOW
        granted, names = resource.grants(request, self.caller) if resource is not None else (Effect.NONE, set())
        if effect is Effect.DENY:
            return "with an explicit deny in an identity-based policy"
        if boundary is Effect.DENY:
            return "with an explicit deny in a permissions boundary"
        if granted is Effect.DENY:
            return "with an explicit deny in a resource-based policy"
        identity_allows = effect is Effect.ALLOW and boundary is Effect.ALLOW
        direct = "session" in names or (bool(names & {"role", "anyone"}) and boundary is Effect.ALLOW)
        if resource is None:
            allowed = identity_allows
        elif resource.account != self.caller.account:
            allowed = identity_allows and bool(names)
        elif resource.key_policy:
            allowed = direct or ("account" in names and identity_allows)
        else:
            allowed = identity_allows or direct
        if allowed:
            return None
        needs_resource_grant = resource is not None and (resource.key_policy or resource.account != self.caller.account)
        if needs_resource_grant and not names:
            return f"because no resource-based policy allows the {request.action} action"
        if effect is Effect.NONE:
            return f"because no identity-based policy allows the {request.action} action"
        return f"because no permissions boundary allows the {request.action} action"


# ---------------------------------------------------------------------------------------------- errors

# AccessDenied as each service answers it: (error code, HTTP status). From each API reference's Errors / Common
# Errors: query-protocol services (IAM, STS, RDS) and S3 say AccessDenied with 403; the JSON services say
# AccessDeniedException with 400, except the RDS Data API, which answers 403.
ERRORS: dict[str, tuple[str, int]] = {
    "iam": ("AccessDenied", 403),
    "sts": ("AccessDenied", 403),
    "s3": ("AccessDenied", 403),
    "rds": ("AccessDenied", 403),
    "rds-data": ("AccessDeniedException", 403),
    "logs": ("AccessDeniedException", 400),
    "firehose": ("AccessDeniedException", 400),
    "dynamodb": ("AccessDeniedException", 400),
    "stepfunctions": ("AccessDeniedException", 400),
    "secretsmanager": ("AccessDeniedException", 400),
    "sqs": ("AccessDenied", 403),
}
QUERY_PROTOCOL = {"iam", "sts", "rds", "sqs"}


def access_denied(service: str, operation: str, message: str) -> ClientError:
    code, status = ERRORS[service]
    error: dict[str, Any] = {"Code": code, "Message": message}
    if service in QUERY_PROTOCOL:
        error["Type"] = "Sender"
    response: Any = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "iam-emulation"}}
    return ClientError(response, operation)


def denial_message(caller: Caller, request: Request, reason: str) -> str:
    text = f"User: {caller.session_arn} is not authorized to perform: {request.action} on resource: {request.resource}"
    return f"{text} {reason}" if reason else text


# ---------------------------------------------------------------------------------------------- operations

# Service Authorization Reference pages the table follows (API operation -> IAM action(s), resource types, keys).
SERVICE_AUTHORIZATION_REFERENCE = {
    "sts": "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html",
    "iam": "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html",
    "logs": "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html",
    "firehose": "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonkinesisfirehose.html",
    "rds": "https://docs.aws.amazon.com/service-authorization/latest/reference/list_rds.html",
    "rds-data": "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrdsdataapi.html",
    "secretsmanager": "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html",
    "dynamodb": "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html",
    "stepfunctions": "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html",
}


@dataclass(frozen=True)
class Call:
    """An API call as the authorization table reads it."""

    service: str
    operation: str
    region: str
    account: str
    params: Mapping[str, Any]
    role_path: Callable[[str, str], str | None]  # (account, role name) -> path of an existing role
    boundary_of: Callable[[str, str], str | None]  # (account, role name) -> its permissions boundary ARN
    tags_of: Callable[[str, str], dict[str, str]] = field(default=lambda account, name: {})  # an existing role's
    resource_tags: Callable[[str], dict[str, str]] = field(default=lambda arn: {})  # an RDS resource's, a secret's

    def role_arn(self, name: str) -> str:
        # IAM names an existing role by its ARN with its path; a role that does not exist has no path to add.
        return f"arn:aws:iam::{self.account}:role{self.role_path(self.account, name) or '/'}{name}"


Authorizations = list[Request]


def _tags(params: Mapping[str, Any], key: str = "Tags") -> dict[str, str]:
    tags = params.get(key) or {}
    if isinstance(tags, list):
        return {tag["Key"]: tag["Value"] for tag in tags}
    return dict(tags)


def _tag_keys(tags: dict[str, str]) -> dict[str, Any]:
    return {"aws:TagKeys": list(tags), **{f"aws:RequestTag/{k}": v for k, v in tags.items()}}


def _pass_role(role_arn: str, service: str | None) -> Request:
    # iam:PassedToService only where the passing service populates it (see PASSED_TO_SERVICE).
    return Request("iam:PassRole", role_arn, {"iam:PassedToService": service} if service else {})


def _log_group(call: Call, name: str) -> str:
    return f"arn:aws:logs:{call.region}:{call.account}:log-group:{name}:*"


def _destination(call: Call, name: str) -> str:
    return f"arn:aws:logs:{call.region}:{call.account}:destination:{name}"


def _stream(call: Call) -> str:
    return f"arn:aws:firehose:{call.region}:{call.account}:deliverystream/{call.params['DeliveryStreamName']}"


def _rds(call: Call, kind: str, name: str) -> str:
    return f"arn:aws:rds:{call.region}:{call.account}:{kind}:{name}"


def _table(call: Call) -> str:
    arn = f"arn:aws:dynamodb:{call.region}:{call.account}:table/{call.params['TableName']}"
    return f"{arn}/index/{call.params['IndexName']}" if call.params.get("IndexName") else arn


# Words of DynamoDB's expression grammar that are no attribute names (functions are followed by "(").
_EXPRESSION_WORDS = {"set", "remove", "add", "delete", "and", "or", "not", "between", "in"}
_PATH_HEAD = re.compile(r"(?<![.:#\w])(#?[A-Za-z_]\w*)(\s*\()?")


def _expression_attributes(call: Call, *expressions: Any) -> list[str]:
    """The top-level attribute names an expression reads or writes (the head of each document path), with the
    request's #placeholders resolved: what dynamodb:Attributes holds (DynamoDB developer guide, "Using IAM policy
    conditions for fine-grained access control")."""
    names = dict(call.params.get("ExpressionAttributeNames") or {})
    found: list[str] = []
    for expression in filter(None, expressions):
        text = expression
        if not isinstance(expression, str):  # a boto3 condition (Attr(...)), built into text as boto3 will
            text, built_names, _ = ConditionExpressionBuilder().build_expression(expression)
            names |= built_names
        for token, function_call in _PATH_HEAD.findall(text):
            if function_call or token.lower() in _EXPRESSION_WORDS:
                continue
            name = names.get(token, token) if token.startswith("#") else token
            if name not in found:
                found.append(name)
    return found


def _update_item(call: Call) -> Authorizations:
    params = call.params
    attributes = _expression_attributes(call, params.get("UpdateExpression", ""), params.get("ConditionExpression", ""))
    attributes += [name for name in params.get("AttributeUpdates") or {} if name not in attributes]
    context: dict[str, Any] = {"dynamodb:Attributes": attributes}
    if params.get("ReturnValues"):
        context["dynamodb:ReturnValues"] = params["ReturnValues"]
    return [Request("dynamodb:UpdateItem", _table(call), context)]


def _execution(call: Call) -> str:
    return str(call.params["executionArn"])


# iam:PassedToService as each service populates it when a role is passed to it. Firehose does (its developer
# guide grants PassRole with this condition); CloudWatch Logs is not known to for PutDestination or
# PutSubscriptionFilter (cloudformation-coverage-roadmap #1784): the request carries no such key.
PASSED_TO_SERVICE = {"firehose": "firehose.amazonaws.com", "logs": None}


def _create_delivery_stream(call: Call) -> Authorizations:
    requests = [Request("firehose:CreateDeliveryStream", _stream(call), _tag_keys(_tags(call.params)))]
    role = (call.params.get("ExtendedS3DestinationConfiguration") or {}).get("RoleARN")
    if role:
        requests.append(_pass_role(role, PASSED_TO_SERVICE["firehose"]))
    if call.params.get("Tags"):  # Firehose developer guide, "Understand tag basics"
        requests.append(Request("firehose:TagDeliveryStream", _stream(call), _tag_keys(_tags(call.params))))
    return requests


def _update_destination(call: Call) -> Authorizations:
    requests = [Request("firehose:UpdateDestination", _stream(call))]
    role = (call.params.get("ExtendedS3DestinationUpdate") or {}).get("RoleARN")
    if role:
        requests.append(_pass_role(role, PASSED_TO_SERVICE["firehose"]))
    return requests


def _put_destination(call: Call) -> Authorizations:
    arn = _destination(call, call.params["destinationName"])
    tags = _tags(call.params, "tags")
    requests = [Request("logs:PutDestination", arn, _tag_keys(tags)), _pass_role(call.params["roleArn"], None)]
    if tags:
        requests.append(Request("logs:TagResource", arn, _tag_keys(tags)))
    return requests


def _put_subscription_filter(call: Call) -> Authorizations:
    requests = [_tagged(call, "logs:PutSubscriptionFilter", _log_group(call, call.params["logGroupName"]))]
    destination = call.params["destinationArn"]
    if ":destination:" in destination:
        requests.append(Request("logs:PutSubscriptionFilter", destination))  # also authorized on the destination
    if call.params.get("roleArn"):
        requests.append(_pass_role(call.params["roleArn"], None))
    return requests


def _on_log_group(action: str, name_param: str = "logGroupName") -> Callable[[Call], Authorizations]:
    """An action on an existing log group: its tags as aws:ResourceTag/<key> (the log-group resource type's)."""
    return lambda call: [_tagged(call, action, _log_group(call, call.params[name_param]))]


def _tag_log_group_resource(call: Call) -> Authorizations:
    arn = str(call.params["resourceArn"])
    return [_tagged(call, "logs:TagResource", arn, _tag_keys(_tags(call.params, "tags")))]


def _glue_table(action: str) -> Callable[[Call], Authorizations]:
    """A Glue table action is authorized on the catalog, the database and the table alike (Glue developer guide,
    "Specifying AWS Glue resource ARNs")."""

    def authorize(call: Call) -> Authorizations:
        prefix = f"arn:aws:glue:{call.region}:{call.account}"
        database, table = call.params["DatabaseName"], call.params.get("TableName") or call.params["Name"]
        return [Request(action, resource) for resource in (
            f"{prefix}:catalog", f"{prefix}:database/{database}", f"{prefix}:table/{database}/{table}"
        )]  # fmt: skip

    return authorize


def _create_log_group(call: Call) -> Authorizations:
    tags = _tags(call.params, "tags")
    arn = _log_group(call, call.params["logGroupName"])
    requests = [Request("logs:CreateLogGroup", arn, _tag_keys(tags))]
    if tags:  # tag-on-create is authorized on logs:TagResource as well
        requests.append(Request("logs:TagResource", arn, _tag_keys(tags)))
    return requests


def _rds_create(kind: str, action: str, name_param: str) -> Callable[[Call], Authorizations]:
    def authorize(call: Call) -> Authorizations:
        tags = _tags(call.params)
        arn = _rds(call, kind, call.params[name_param])
        requests = [Request(action, arn, _tag_keys(tags))]
        if action in ("rds:CopyDBClusterParameterGroup", "rds:CopyDBParameterGroup"):
            source = (
                call.params.get("SourceDBClusterParameterGroupIdentifier")
                or call.params["SourceDBParameterGroupIdentifier"]
            )
            requests.append(Request(action, source if source.startswith("arn:") else _rds(call, kind, source)))
        if tags:  # RDS user guide: tags in a create call are authorized on rds:AddTagsToResource too
            requests.append(Request("rds:AddTagsToResource", arn, _tag_keys(tags)))
        return requests

    return authorize


def _tagged(call: Call, action: str, arn: str, context: Mapping[str, Any] | None = None) -> Request:
    """A request on an existing resource: its tags as aws:ResourceTag/<key> (the RDS cluster and db resource types
    and the Secrets Manager secret take that key)."""
    tags = {f"aws:ResourceTag/{key}": value for key, value in call.resource_tags(arn).items()}
    return Request(action, arn, {**tags, **(context or {})})


def _add_tags_to_resource(call: Call) -> Authorizations:
    arn = str(call.params["ResourceName"])
    return [_tagged(call, "rds:AddTagsToResource", arn, _tag_keys(_tags(call.params)))]


def _modify_db_cluster(call: Call) -> Authorizations:
    # rds:ManageMasterUserPassword is in the request context when the request carries the parameter (Service
    # Authorization Reference, Amazon RDS condition keys).
    context = {}
    if "ManageMasterUserPassword" in call.params:
        context["rds:ManageMasterUserPassword"] = str(bool(call.params["ManageMasterUserPassword"])).lower()
    cluster = _rds(call, "cluster", call.params["DBClusterIdentifier"])
    requests = [_tagged(call, "rds:ModifyDBCluster", cluster, context)]
    group = call.params.get("DBClusterParameterGroupName")
    if group:
        requests.append(Request("rds:ModifyDBCluster", _rds(call, "cluster-pg", group)))
    return requests


def _modify_db_instance(call: Call) -> Authorizations:
    # As ModifyDBCluster: the instance (with its tags and rds:ManageMasterUserPassword when the request carries it),
    # and the DB parameter group it attaches (Service Authorization Reference, Amazon RDS).
    context = {}
    if "ManageMasterUserPassword" in call.params:
        context["rds:ManageMasterUserPassword"] = str(bool(call.params["ManageMasterUserPassword"])).lower()
    requests = [_tagged(call, "rds:ModifyDBInstance", _rds(call, "db", call.params["DBInstanceIdentifier"]), context)]
    group = call.params.get("DBParameterGroupName")
    if group:
        requests.append(Request("rds:ModifyDBInstance", _rds(call, "pg", group)))
    return requests


def _execute_statement(call: Call) -> Authorizations:
    # The Data API fetches the secret with the caller's credentials (Aurora user guide, "Authorizing access to
    # the Amazon RDS Data API").
    return [
        _tagged(call, "rds-data:ExecuteStatement", str(call.params["resourceArn"])),
        _tagged(call, "secretsmanager:GetSecretValue", str(call.params["secretArn"])),
    ]


def _assume_role(call: Call) -> Authorizations:
    context = {"sts:RoleSessionName": call.params.get("RoleSessionName")}
    if call.params.get("ExternalId") is not None:
        context["sts:ExternalId"] = call.params["ExternalId"]
    return [Request("sts:AssumeRole", str(call.params["RoleArn"]), context)]


def _simple(action: str, resource: Callable[[Call], str]) -> Callable[[Call], Authorizations]:
    return lambda call: [Request(action, resource(call))]


def _role(call: Call) -> str:
    return call.role_arn(call.params["RoleName"])


def _create_role(call: Call) -> Authorizations:
    tags = _tags(call.params)
    arn = f"arn:aws:iam::{call.account}:role{call.params.get('Path') or '/'}{call.params['RoleName']}"
    context: dict[str, Any] = _tag_keys(tags)
    if call.params.get("PermissionsBoundary"):
        context["iam:PermissionsBoundary"] = call.params["PermissionsBoundary"]
    requests = [Request("iam:CreateRole", arn, context)]
    if tags:
        requests.append(Request("iam:TagRole", arn, _tag_keys(tags)))
    return requests


def _on_role(action: str, *, with_boundary: bool = False) -> Callable[[Call], Authorizations]:
    """An action on an existing role: IAM puts the role's tags in aws:ResourceTag/<key> (the role resource type's
    condition key), and its current boundary in iam:PermissionsBoundary for the actions that take that key
    (PutRolePolicy, DeleteRolePolicy, ...; CreateRole: the one requested)."""

    def authorize(call: Call) -> Authorizations:
        name = call.params["RoleName"]
        context: dict[str, Any] = {f"aws:ResourceTag/{k}": v for k, v in call.tags_of(call.account, name).items()}
        boundary = call.boundary_of(call.account, name) if with_boundary else None
        if boundary:
            context["iam:PermissionsBoundary"] = boundary
        return [Request(action, _role(call), context)]

    return authorize


# The AWS managed key of S3 (alias aws/s3) as the emulation names it: its real key id differs per account and region.
AWS_MANAGED_S3_KEY = "alias/aws/s3"
# aws:RequestedRegion of a global service's calls: the region of its endpoint (IAM's is us-east-1).
GLOBAL_SERVICE_REGION = {"iam": "us-east-1", "organizations": "us-east-1"}
STAR = "*"  # the action supports no resource-level permission (its Resource types column is empty)

# (service as boto3 names it, operation) -> the IAM requests AWS evaluates for it.
OPERATIONS: dict[tuple[str, str], Callable[[Call], Authorizations]] = {
    ("sts", "AssumeRole"): _assume_role,
    # IAM: the role resource is arn:aws:iam::<account>:role/<path><name>.
    ("iam", "GetRole"): _on_role("iam:GetRole"),
    ("iam", "GetAccountSummary"): _simple("iam:GetAccountSummary", lambda c: STAR),
    ("iam", "CreateRole"): _create_role,
    ("iam", "UpdateAssumeRolePolicy"): _on_role("iam:UpdateAssumeRolePolicy"),
    ("iam", "GetRolePolicy"): _on_role("iam:GetRolePolicy"),
    ("iam", "PutRolePolicy"): _on_role("iam:PutRolePolicy", with_boundary=True),
    ("iam", "ListRolePolicies"): _on_role("iam:ListRolePolicies"),
    ("iam", "DeleteRolePolicy"): _on_role("iam:DeleteRolePolicy", with_boundary=True),
    ("iam", "DeleteRole"): _on_role("iam:DeleteRole"),
    # CloudWatch Logs: a log group is arn:...:log-group:<name>:* in IAM; DescribeLogGroups and DescribeDestinations
    # support no resource-level permission (no resource type in the Service Authorization Reference): only "*".
    ("logs", "DescribeLogGroups"): _simple("logs:DescribeLogGroups", lambda c: STAR),
    ("glue", "GetTable"): _glue_table("glue:GetTable"),
    ("glue", "BatchCreatePartition"): _glue_table("glue:BatchCreatePartition"),
    ("logs", "CreateLogGroup"): _create_log_group,
    ("logs", "PutRetentionPolicy"): _on_log_group("logs:PutRetentionPolicy"),
    ("logs", "ListTagsForResource"): lambda c: [_tagged(c, "logs:ListTagsForResource", str(c.params["resourceArn"]))],
    ("logs", "TagResource"): _tag_log_group_resource,
    ("logs", "TagLogGroup"): lambda c: [
        _tagged(c, "logs:TagLogGroup", _log_group(c, c.params["logGroupName"]), _tag_keys(_tags(c.params, "tags")))
    ],
    ("logs", "DescribeSubscriptionFilters"): _simple(
        "logs:DescribeSubscriptionFilters", lambda c: _log_group(c, c.params["logGroupName"])
    ),
    ("logs", "PutSubscriptionFilter"): _put_subscription_filter,
    ("logs", "DeleteSubscriptionFilter"): _on_log_group("logs:DeleteSubscriptionFilter"),
    ("logs", "DescribeDestinations"): _simple("logs:DescribeDestinations", lambda c: STAR),
    ("logs", "PutDestination"): _put_destination,
    ("logs", "PutDestinationPolicy"): _simple(
        "logs:PutDestinationPolicy", lambda c: _destination(c, c.params["destinationName"])
    ),
    ("logs", "DeleteDestination"): _simple(
        "logs:DeleteDestination", lambda c: _destination(c, c.params["destinationName"])
    ),
    # Firehose: arn:aws:firehose:<region>:<account>:deliverystream/<name>.
    ("firehose", "DescribeDeliveryStream"): _simple("firehose:DescribeDeliveryStream", _stream),
    ("firehose", "ListDeliveryStreams"): _simple("firehose:ListDeliveryStreams", lambda c: STAR),
    ("firehose", "CreateDeliveryStream"): _create_delivery_stream,
    ("firehose", "DeleteDeliveryStream"): _simple("firehose:DeleteDeliveryStream", _stream),
    ("firehose", "UpdateDestination"): _update_destination,
    ("firehose", "PutRecordBatch"): _simple("firehose:PutRecordBatch", _stream),
    # RDS: cluster, db (instance) and cluster-pg resources.
    ("rds", "DescribeDBClusters"): _simple(
        # Without an identifier, DescribeDBClusters lists: IAM authorizes it on cluster:*.
        "rds:DescribeDBClusters",
        lambda c: _rds(c, "cluster", c.params.get("DBClusterIdentifier", "*")),
    ),
    ("rds", "DescribeDBInstances"): _simple(
        # Without an identifier, DescribeDBInstances lists: IAM authorizes it on db:*.
        "rds:DescribeDBInstances",
        lambda c: _rds(c, "db", c.params.get("DBInstanceIdentifier", "*")),
    ),
    ("rds", "DescribeBlueGreenDeployments"): _simple(
        # Without an identifier it lists (filtered by source here): IAM authorizes it on deployment:*.
        "rds:DescribeBlueGreenDeployments",
        lambda c: _rds(c, "deployment", c.params.get("BlueGreenDeploymentIdentifier", "*")),
    ),
    ("rds", "RebootDBCluster"): lambda c: [
        _tagged(c, "rds:RebootDBCluster", _rds(c, "cluster", c.params["DBClusterIdentifier"]))
    ],
    ("rds", "ModifyDBInstance"): _modify_db_instance,
    ("rds", "DescribeDBParameterGroups"): _simple(
        "rds:DescribeDBParameterGroups", lambda c: _rds(c, "pg", c.params.get("DBParameterGroupName", "*"))
    ),
    ("rds", "CreateDBParameterGroup"): _rds_create("pg", "rds:CreateDBParameterGroup", "DBParameterGroupName"),
    ("rds", "CopyDBParameterGroup"): _rds_create("pg", "rds:CopyDBParameterGroup", "TargetDBParameterGroupIdentifier"),
    ("rds", "ModifyDBParameterGroup"): _simple(
        "rds:ModifyDBParameterGroup", lambda c: _rds(c, "pg", c.params["DBParameterGroupName"])
    ),
    ("rds", "DeleteDBParameterGroup"): _simple(
        "rds:DeleteDBParameterGroup", lambda c: _rds(c, "pg", c.params["DBParameterGroupName"])
    ),
    ("rds", "RebootDBInstance"): lambda c: [
        _tagged(c, "rds:RebootDBInstance", _rds(c, "db", c.params["DBInstanceIdentifier"]))
    ],
    ("rds", "AddTagsToResource"): _add_tags_to_resource,
    ("rds", "RemoveTagsFromResource"): lambda c: [
        _tagged(c, "rds:RemoveTagsFromResource", str(c.params["ResourceName"]), {"aws:TagKeys": c.params["TagKeys"]})
    ],
    ("rds", "DescribeDBClusterParameterGroups"): _simple(
        "rds:DescribeDBClusterParameterGroups", lambda c: _rds(c, "cluster-pg", c.params["DBClusterParameterGroupName"])
    ),
    ("rds", "DescribeDBClusterParameters"): _simple(
        "rds:DescribeDBClusterParameters", lambda c: _rds(c, "cluster-pg", c.params["DBClusterParameterGroupName"])
    ),
    ("rds", "DescribeDBParameters"): _simple(
        "rds:DescribeDBParameters", lambda c: _rds(c, "pg", c.params["DBParameterGroupName"])
    ),
    ("rds", "CreateDBClusterParameterGroup"): _rds_create(
        "cluster-pg", "rds:CreateDBClusterParameterGroup", "DBClusterParameterGroupName"
    ),
    ("rds", "CopyDBClusterParameterGroup"): _rds_create(
        "cluster-pg", "rds:CopyDBClusterParameterGroup", "TargetDBClusterParameterGroupIdentifier"
    ),
    ("rds", "ModifyDBClusterParameterGroup"): _simple(
        "rds:ModifyDBClusterParameterGroup", lambda c: _rds(c, "cluster-pg", c.params["DBClusterParameterGroupName"])
    ),
    ("rds", "DeleteDBClusterParameterGroup"): _simple(
        "rds:DeleteDBClusterParameterGroup", lambda c: _rds(c, "cluster-pg", c.params["DBClusterParameterGroupName"])
    ),
    ("rds", "ModifyDBCluster"): _modify_db_cluster,
    ("rds-data", "ExecuteStatement"): _execute_statement,
    # Secrets Manager: ListSecrets (names and tags, never values) has no resource type: only "*".
    ("secretsmanager", "ListSecrets"): _simple("secretsmanager:ListSecrets", lambda c: STAR),
    # DynamoDB: the table, or the index a Query or Scan names.
    ("dynamodb", "GetItem"): _simple("dynamodb:GetItem", _table),
    ("dynamodb", "PutItem"): _simple("dynamodb:PutItem", _table),
    ("dynamodb", "UpdateItem"): _update_item,  # with dynamodb:Attributes (and dynamodb:ReturnValues when asked)
    ("dynamodb", "DeleteItem"): _simple("dynamodb:DeleteItem", _table),
    ("dynamodb", "Query"): _simple("dynamodb:Query", _table),
    ("dynamodb", "Scan"): _simple("dynamodb:Scan", _table),
    # Step Functions: a state machine, or an execution (arn:...:execution:<machine>:<name>).
    ("stepfunctions", "StartExecution"): _simple("states:StartExecution", lambda c: str(c.params["stateMachineArn"])),
    ("stepfunctions", "ListExecutions"): _simple("states:ListExecutions", lambda c: str(c.params["stateMachineArn"])),
    ("stepfunctions", "DescribeExecution"): _simple("states:DescribeExecution", _execution),
    ("stepfunctions", "GetExecutionHistory"): _simple("states:GetExecutionHistory", _execution),
    # Organizations: ListAccounts has no resource type (Service Authorization Reference): only "*".
    ("organizations", "ListAccounts"): _simple("organizations:ListAccounts", lambda c: STAR),
}


# ---------------------------------------------------------------------------------------------- AWS managed policies

# The AWS managed policies the templates attach (as IAM publishes them; iann0036/iam-dataset keeps copies).
AWS_MANAGED_POLICIES: dict[str, dict[str, Any]] = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ],
    },
    "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:GetSamplingStatisticSummaries",
                ],
                "Resource": "*",
            }
        ],
    },
}
AWS_MANAGED_POLICIES["arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"] = AWS_MANAGED_POLICIES[
    "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
]


def aws_managed_s3_key_policy(account: str, region: str) -> dict[str, Any]:
    """The key policy of the AWS managed key aws/s3 (what GetKeyPolicy returns for it; the KMS developer guide's
    "AWS managed keys" shows the same shape): every principal of the account may use it through S3, so a role needs
    no KMS grant of its own to write SSE-KMS objects under it."""
    return {
        "Version": "2012-10-17",
        "Id": "auto-s3-2",
        "Statement": [
            {
                "Sid": "Allow access through S3 for all principals in the account that are authorized to use S3",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account, "kms:ViaService": f"s3.{region}.amazonaws.com"}
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                "Resource": "*",
            },
        ],
    }


def _document(text: str | Mapping[str, Any]) -> dict[str, Any]:
    return dict(text) if isinstance(text, Mapping) else json.loads(unquote(text))


# ---------------------------------------------------------------------------------------------- the enforcer


@dataclass
class Denial:
    """A refusal, kept so that tests and the demo can say what was refused."""

    caller: str
    action: str
    resource: str
    message: str


class Enforcer:
    """Authorizes the product's calls against the roles in moto's IAM (created from the templates)."""

    def __init__(self) -> None:
        self.function_roles: dict[str, tuple[str, str]] = {}  # function name -> (account, role name)
        self.sessions: dict[str, Caller] = {}  # access key of an assumed role -> its session
        self.aws_managed_attachments: dict[tuple[str, str], list[str]] = {}  # (account, role) -> AWS policy ARNs
        self.denials: list[Denial] = []
        self.authorized: list[tuple[str | None, str, str, str]] = []  # (function, role, action, resource) allowed
        self._lock = threading.Lock()

    # -------------------------------------------------------------- identities
    @staticmethod
    def _backend(account: str) -> Any:
        return iam_backends[account]["global"]

    def _role(self, account: str, name: str) -> Any | None:
        return next((r for r in self._backend(account).roles.values() if r.name == name), None)

    def role_path(self, account: str, name: str) -> str | None:
        role = self._role(account, name)
        return role.path if role is not None else None

    def boundary_of(self, account: str, name: str) -> str | None:
        role = self._role(account, name)
        return role.permissions_boundary_arn if role is not None else None

    def tags_of(self, account: str, name: str) -> dict[str, str]:
        role = self._role(account, name)
        return {tag["Key"]: tag["Value"] for tag in role.tags} if role is not None else {}

    @staticmethod
    def resource_tags(arn: str) -> dict[str, str]:
        """The tags of an existing RDS cluster or instance, CloudWatch Logs log group, or Secrets Manager secret ({}
        when it does not exist)."""
        parts = arn.split(":")
        if len(parts) < 7:
            return {}
        service, region, account, kind, name = parts[2], parts[3], parts[4], parts[5], parts[6]
        tags: list[dict[str, str]] = []
        if service == "rds" and kind in {"cluster", "db"}:
            backend = rds_backends[account][region]
            resource = (backend.clusters if kind == "cluster" else backend.databases).get(name)
            tags = resource.tags if resource is not None else []
        elif service == "logs" and kind == "log-group":
            group = logs_backends[account][region].groups.get(name)
            return dict(logs_backends[account][region].list_tags_for_resource(group.arn)) if group else {}
        elif service == "secretsmanager":
            secrets = secretsmanager_backends[account][region].secrets
            secret = next((s for s in secrets.values() if getattr(s, "arn", None) == arn), None)
            tags = (secret.tags or []) if secret is not None else []
        return {tag["Key"]: tag["Value"] for tag in tags}

    @staticmethod
    def resource_policy(arn: str) -> ResourcePolicy | None:
        """The resource-based policy IAM evaluates with a request on `arn`: an S3 bucket's policy (for the bucket and
        its objects), a KMS key's policy (the AWS managed aws/s3 key's as AWS publishes it), a CloudWatch Logs
        destination's access policy. None for other resources, and for one that does not exist (the service then
        answers that it does not)."""
        parts = arn.split(":", 5)
        if len(parts) < 6:
            return None
        service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
        if service == "s3":
            bucket_name = resource.split("/", 1)[0]
            owner = s3_backends.bucket_accounts.get(bucket_name)
            bucket = s3_backends[owner[1]]["global"].buckets.get(bucket_name) if owner else None
            if bucket is None:
                return None
            return ResourcePolicy(_document(bucket.policy.decode()) if bucket.policy else {}, owner[1])  # type: ignore[index]
        if service == "kms":
            if resource == AWS_MANAGED_S3_KEY:
                return ResourcePolicy(aws_managed_s3_key_policy(account, region), account, key_policy=True)
            key = kms_backends[account][region].keys.get(resource.removeprefix("key/"))
            return ResourcePolicy(_document(key.policy), account, key_policy=True) if key is not None else None
        if service == "logs" and resource.startswith("destination:"):
            destination = logs_backends[account][region].destinations.get(arn)
            if destination is None:
                return None
            return ResourcePolicy(_document(destination.access_policy) if destination.access_policy else {}, account)
        return None

    def identity(self, account: str, role_name: str, session_name: str) -> Identity:
        role = self._role(account, role_name)
        if role is None:
            raise RuntimeError(f"the emulation has no role {role_name} in {account}")
        backend = self._backend(account)
        policies: list[Mapping[str, Any]] = [_document(text) for text in role.policies.values()]
        policies += [_document(p.versions[-1].document) for p in role.managed_policies.values()]
        policies += [AWS_MANAGED_POLICIES[arn] for arn in self.aws_managed_attachments.get((account, role_name), [])]
        boundary = None
        if role.permissions_boundary_arn:
            boundary = _document(backend.get_policy(role.permissions_boundary_arn).versions[-1].document)
        caller = Caller(account, role.arn, session_name)
        return Identity(caller, tuple(policies), boundary)

    def caller_identity(self, function_name: str | None, access_key: str) -> Identity:
        session = self.sessions.get(access_key)
        if session is not None:
            return self.identity(session.account, session.role_name, session.session_name)
        if function_name is None or function_name not in self.function_roles:
            raise RuntimeError(f"no role is known for function {function_name!r} (access key {access_key})")
        account, role_name = self.function_roles[function_name]
        return self.identity(account, role_name, function_name)  # Lambda names the session after the function

    def remember_session(self, access_key: str, account: str, role_arn: str, session_name: str) -> None:
        with self._lock:
            self.sessions[access_key] = Caller(account, role_arn, session_name)

    # -------------------------------------------------------------- calls
    def authorize(
        self,
        identity: Identity,
        service: str,
        operation: str,
        region: str,
        params: Mapping[str, Any],
        function: str | None = None,
    ) -> None:
        """Raise AccessDenied as `service` answers it unless every request of the call is allowed."""
        table = OPERATIONS.get((service, operation))
        if table is None:
            raise NotImplementedError(
                f"{service}:{operation} has no entry in local/iam.py OPERATIONS: add its IAM action and resource"
            )
        call = Call(
            service, operation, region, identity.caller.account, params, self.role_path, self.boundary_of, self.tags_of,
            self.resource_tags,
        )  # fmt: skip
        requested_region = GLOBAL_SERVICE_REGION.get(service, region)
        for needed in table(call):
            in_region = {"aws:RequestedRegion": requested_region, **needed.context}
            request = self._with_principal(Request(needed.action, needed.resource, in_region), identity.caller)
            reason = identity.refusal(request, self.resource_policy(request.resource))
            if reason is None and request.action == "sts:AssumeRole" and not self._trusted(request, identity.caller):
                reason = ""  # STS names no reason when the trust policy refuses
            if reason is not None:
                self._refuse(identity.caller, service, operation, request, reason)
            with self._lock:
                self.authorized.append((function, identity.caller.role_name, request.action, request.resource))

    def _refuse(self, caller: Caller, service: str, operation: str, request: Request, reason: str) -> None:
        shown = request
        if request.action == "iam:GetRole":  # IAM's message names the role as "role <name>", not by its ARN
            shown = Request(request.action, f"role {request.resource.rsplit('/', 1)[-1]}", request.context)
        message = denial_message(caller, shown, reason)
        with self._lock:
            self.denials.append(Denial(caller.session_arn, request.action, request.resource, message))
        raise access_denied(service, operation, message)

    @staticmethod
    def _with_principal(request: Request, caller: Caller) -> Request:
        context = {
            "aws:PrincipalArn": caller.role_arn,
            "aws:PrincipalAccount": caller.account,
            "aws:PrincipalType": "AssumedRole",
            "aws:SecureTransport": True,
            **request.context,
        }
        return Request(request.action, request.resource, context)

    def _trusted(self, request: Request, caller: Caller) -> bool:
        """AssumeRole needs the target role's trust policy to allow the caller as well."""
        account, name = request.resource.split(":")[4], request.resource.rsplit("/", 1)[-1]
        role = self._role(account, name)
        return role is not None and trust_allows(_document(role.assume_role_policy_document), request, caller, None)

    # -------------------------------------------------------------- service deliveries
    def delivery_refusal(self, role_arn: str, stream_arn: str, region: str, source_arns: list[str]) -> str | None:
        """CloudWatch Logs delivering to Firehose with a destination's role: the role must trust
        logs.<region>.amazonaws.com for each aws:SourceArn the delivery may carry, and its policies, within its
        permissions boundary, must allow firehose:PutRecordBatch on the stream."""
        account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
        role = self._role(account, name)
        if role is None:
            return f"the destination role {role_arn} does not exist"
        trust = _document(role.assume_role_policy_document)
        for source_arn in source_arns:
            request = Request("sts:AssumeRole", role_arn, {"aws:SourceArn": source_arn,
                                                           "aws:SourceAccount": source_arn.split(":")[4]})  # fmt: skip
            if not trust_allows(trust, request, None, f"logs.{region}.amazonaws.com"):
                return f"logs.{region}.amazonaws.com may not assume {role_arn} for aws:SourceArn {source_arn}"
        identity = self.identity(account, name, "CWLtoKinesisFirehoseDelivery")
        request = Request("firehose:PutRecordBatch", stream_arn)
        reason = identity.refusal(self._with_principal(request, identity.caller))
        if reason is not None:
            return denial_message(identity.caller, request, reason)
        return None

    def firehose_refusal(self, role_arn: str, stream_arn: str, action: str, resource: str) -> str | None:
        """Firehose acting with a stream's role (invoking the processor, writing to S3): the role must trust
        firehose.amazonaws.com for this account and stream, and its policies allow the action."""
        account, name = stream_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
        role = self._role(role_arn.split(":")[4], name) if role_arn.count(":") >= 5 else None
        if role is None:
            return f"the delivery stream's role {role_arn!r} does not exist"
        trust = _document(role.assume_role_policy_document)
        # The account's id as sts:ExternalId (Firehose developer guide); the source keys as IAM may also have them.
        context = {"sts:ExternalId": account, "aws:SourceAccount": account, "aws:SourceArn": stream_arn}
        assume = Request("sts:AssumeRole", role_arn, context)
        if not trust_allows(trust, assume, None, "firehose.amazonaws.com"):
            return f"firehose.amazonaws.com may not assume {role_arn} for {stream_arn}"
        identity = self.identity(role_arn.split(":")[4], name, "KinesisFirehoseDelivery")
        requests = [Request(action, resource)]
        if action == "s3:PutObject":  # S3 asks KMS for a data key with the writer's credentials (SSE-KMS)
            requests += self._bucket_key_requests(resource, stream_arn.split(":")[3], identity.caller.account)
        for request in requests:
            reason = identity.refusal(
                self._with_principal(request, identity.caller), self.resource_policy(request.resource)
            )
            if reason is not None:
                return denial_message(identity.caller, request, reason)
        return None

    @staticmethod
    def _bucket_key_requests(object_arn: str, region: str, caller_account: str) -> list[Request]:
        """An SSE-KMS bucket's default key: a PutObject needs kms:GenerateDataKey on it, asked by S3 on the caller's
        behalf (S3 user guide, "Using server-side encryption with AWS KMS keys"): kms:ViaService and
        kms:CallerAccount say so, and the encryption context names the bucket (with an S3 Bucket Key) ."""
        bucket_name = object_arn.split(":::", 1)[1].split("/", 1)[0]
        owner = s3_backends.bucket_accounts.get(bucket_name)
        bucket = s3_backends[owner[1]]["global"].buckets.get(bucket_name) if owner else None
        rules = _as_list(((bucket.encryption if bucket is not None else None) or {}).get("Rule", []))
        default = next((rule.get("ApplyServerSideEncryptionByDefault") or {} for rule in rules), {})
        if default.get("SSEAlgorithm") != "aws:kms":
            return []
        key = default.get("KMSMasterKeyID") or f"arn:aws:kms:{region}:{owner[1]}:{AWS_MANAGED_S3_KEY}"  # type: ignore[index]
        context = {
            "kms:ViaService": f"s3.{region}.amazonaws.com",
            "kms:CallerAccount": caller_account,
            "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{bucket_name}",
        }
        return [Request("kms:GenerateDataKey", key, context)]
