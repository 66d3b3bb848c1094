"""The self-service API against a hostile caller, written from its threat model.

Assets. The registry (which clusters are archived, how, and by which execution); the workflows that change source
accounts (onboarding rewrites a cluster's parameter group, subscribes its log group and may reboot it; offboarding
undoes that; verification may repair); another account's execution ARNs and console links; the position of a
listing in the registry.

Trust boundary. API Gateway's IAM authorization vouches for requestContext.identity (accountId, userArn) and for
nothing else. Headers, query string, path and body are the caller's word; so is every header a proxy could add.

Actors and what they try.
- A principal of an allowed source account acting on another account's clusters: onboard, offboard, verify, read
  or list them, or learn whether a cluster exists there.
- A principal posing as an admin (AdminPrincipalArns): a session named like the admin role, a same-named role in
  another account, an IAM user or federated user of that name, a path, another case or partition, a role ARN
  where a session ARN belongs, identity fields in headers, query or body.
- Something that reaches the function without a signed identity (a method left without IAM auth, a direct
  invoke): it must be refused before its request is even read.
- A caller of the same account riding another principal's Idempotency-Key (to be answered from the cache without
  being authorized) or page token (to read from a position it did not reach, or to inject a DynamoDB start key).
- A caller sending what parsers disagree on: not JSON, several JSON values, an array, duplicate keys, numbers
  beyond Python's limit, deep nesting, NaN, lone surrogates, forms and multipart, other media types; identifiers
  with Unicode digits or look-alikes, control characters, encoded slashes and traversal, lax types ("30", "yes").

Claims every hostile case checks: a 4xx whose JSON body names the problem, no mutating AWS call in any account, no
execution started, the registry unchanged. Legitimate requests of the same callers succeed in the same suite, so
an API that refuses everything fails it. One World serves the module (setup: three clusters onboarded).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto.dynamodb.models import dynamodb_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from functions.api.app import ROUTES
from local import ARCHIVE_ACCOUNT, SOURCE_ACCOUNT, World
from local.world import _route_of, rest_api_event

OTHER = "444455556666"
REGION = "eu-west-1"
ADMIN_ROLE = f"arn:aws:iam::{ARCHIVE_ACCOUNT}:role/platform-admin"
ADMIN = f"arn:aws:sts::{ARCHIVE_ACCOUNT}:assumed-role/platform-admin/alice"
BOB = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/team-deployer/bob"
CAROL = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/team-deployer/carol"
EVE = f"arn:aws:sts::{OTHER}:assumed-role/team-deployer/eve"
READER = f"arn:aws:sts::{ARCHIVE_ACCOUNT}:assumed-role/reader/mallory"
REDUCER_ROLE = "pgaudit-archiver-reducer"  # AuditReducerRoleNames of the world below
DANA = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/{REDUCER_ROLE}/dana"
ORDERS = f"/clusters/{SOURCE_ACCOUNT}/{REGION}/orders"
BILLING = f"/clusters/{OTHER}/{REGION}/billing"
FORBIDDEN = "may act only on its own clusters"
UNSIGNED = "no signed AWS identity"
ARABIC_ACCOUNT = SOURCE_ACCOUNT.translate({ord("0") + d: 0x0660 + d for d in range(10)})  # Arabic-Indic digits
FULLWIDTH_ACCOUNT = SOURCE_ACCOUNT.translate({ord("0") + d: 0xFF10 + d for d in range(10)})  # fullwidth digits


def onboarding(cluster: str = "orders", account: str = SOURCE_ACCOUNT, **fields: Any) -> dict[str, Any]:
    return {"account_id": account, "region": REGION, "cluster_id": cluster, **fields}


def sts(account: str, role: str, session: str = "s") -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role}/{session}"


@dataclass(frozen=True)
class Case:
    """One hostile request; `status` and a text the JSON answer must contain. `query` may be a function of what
    the setup learnt (a page token). `identity` set: the event goes to the function with exactly that identity."""

    category: str
    name: str
    method: str
    path: str
    status: int
    named: str
    body: Any = None
    headers: dict[str, str] | None = None
    query: dict[str, str] | Callable[[dict[str, str]], dict[str, str]] | None = None
    caller: tuple[str, str] = (SOURCE_ACCOUNT, BOB)
    identity: dict[str, Any] | None = field(default=None)
    multi_query: dict[str, list[str]] | None = None  # sent raw: what API Gateway hands over for ?a=1&a=2


CASES: list[Case] = []


def case(category: str, name: str, method: str, path: str, status: int, named: str, **options: Any) -> None:
    CASES.append(Case(category, name, method, path, status, named, **options))


# ---------------------------------------------------------------------------------------------- cross-account
for method, path, body in (
    ("POST", "/clusters", onboarding("billing", OTHER)),
    ("GET", BILLING, None),
    ("DELETE", BILLING, None),
    ("POST", f"{BILLING}/verify", None),
    ("GET", f"/clusters/{OTHER}/{REGION}/never-onboarded", None),  # no existence oracle: 403, not 404
    ("DELETE", f"/clusters/{OTHER}/{REGION}/never-onboarded", None),
    ("POST", f"/clusters/{OTHER}/{REGION}/never-onboarded/verify", None),
):
    case("cross-account", f"{method} {path}", method, path, 403, FORBIDDEN, body=body)
case("cross-account", "list another account", "GET", "/clusters", 403, FORBIDDEN, query={"account_id": OTHER})
case("cross-account", "restore another's", "DELETE", BILLING, 403, FORBIDDEN, query={"restore": "true"})
for method, path in (("GET", ORDERS), ("DELETE", ORDERS), ("POST", f"{ORDERS}/verify")):
    case("cross-account", f"eve {method} {path}", method, path, 403, FORBIDDEN, caller=(OTHER, EVE))
case(
    "cross-account", "eve onboards orders", "POST", "/clusters", 403, FORBIDDEN, body=onboarding(), caller=(OTHER, EVE)
)
case(
    "cross-account",
    "archive non-admin onboards",
    "POST",
    "/clusters",
    403,
    FORBIDDEN,
    body=onboarding(),
    caller=(ARCHIVE_ACCOUNT, READER),
)
case(
    "cross-account",
    "archive non-admin lists",
    "GET",
    "/clusters",
    403,
    FORBIDDEN,
    query={"account_id": OTHER},
    caller=(ARCHIVE_ACCOUNT, READER),
)

# ------------------------------------------------------------------ missing or partial identity (sent raw)
for name, identity in (
    ("no identity", {}),
    ("account only", {"accountId": SOURCE_ACCOUNT}),
    ("principal only", {"userArn": BOB}),
    ("empty strings", {"accountId": "", "userArn": ""}),
    ("nulls", {"accountId": None, "userArn": None}),
    ("caller but no userArn", {"accountId": SOURCE_ACCOUNT, "caller": BOB}),
    ("account of another principal", {"accountId": SOURCE_ACCOUNT, "userArn": EVE}),
    ("admin ARN under a source account", {"accountId": SOURCE_ACCOUNT, "userArn": ADMIN}),
    ("not an ARN", {"accountId": SOURCE_ACCOUNT, "userArn": "bob"}),
    (
        "assumed role without session",
        {"accountId": ARCHIVE_ACCOUNT, "userArn": f"arn:aws:sts::{ARCHIVE_ACCOUNT}:assumed-role/platform-admin"},
    ),
    ("Arabic-Indic account", {"accountId": ARABIC_ACCOUNT, "userArn": BOB.replace(SOURCE_ACCOUNT, ARABIC_ACCOUNT)}),
    ("trailing newline", {"accountId": SOURCE_ACCOUNT, "userArn": BOB + "\n"}),
    ("number account", {"accountId": int(SOURCE_ACCOUNT), "userArn": BOB}),
    ("anonymous", {"accountId": SOURCE_ACCOUNT, "userArn": "anonymous"}),
):
    # The body is not JSON: a 403 (not 400 or 422) shows nothing was read before the identity.
    case("missing identity", name, "POST", "/clusters", 403, UNSIGNED, body="{not json", identity=identity)
case("missing identity", "GET with no identity", "GET", ORDERS, 403, UNSIGNED, identity={})
case("missing identity", "list with no identity", "GET", "/clusters", 403, UNSIGNED, identity={},
     query={"next_token": "garbage"})  # fmt: skip

# ------------------------------------------------------------ identity spoofing (headers, body, query)
for header in ("X-Amz-User-Arn", "X-Amzn-Principal", "X-Forwarded-User", "X-Amz-Account-Id", "X-Caller", "From"):
    value = OTHER if "Account" in header else ADMIN
    case("spoofing", f"header {header}", "DELETE", BILLING, 403, FORBIDDEN, headers={header: value})
case("spoofing", "header Authorization", "POST", "/clusters", 403, FORBIDDEN, body=onboarding("billing", OTHER),
     headers={"Authorization": f"AWS4-HMAC-SHA256 Credential=AKIA/{ARCHIVE_ACCOUNT}"})  # fmt: skip
for field_name, value in (
    ("caller", ADMIN),
    ("principal_arn", ADMIN),
    ("requestContext", {"identity": {"userArn": ADMIN}}),
    ("admin", True),
    ("caller_account", OTHER),
):
    case("spoofing", f"body {field_name}", "POST", "/clusters", 422, f"body.{field_name}",
         body=onboarding(**{field_name: value}))  # fmt: skip
for name, query in (
    ("caller_arn", {"caller_arn": ADMIN}),
    ("userArn", {"userArn": ADMIN, "account_id": OTHER}),
    ("identity.accountId", {"identity.accountId": OTHER}),
    ("admin flag", {"admin": "true"}),
):
    case("spoofing", f"query {name}", "GET", "/clusters", 400, "unknown query parameter", query=query)
case("spoofing", "query on a path route", "GET", BILLING, 400, "unknown query parameter", query={"as": ADMIN})
case("spoofing", "query on delete", "DELETE", ORDERS, 400, "unknown query parameter", query={"force": "true"})

# ------------------------------------------------------------------------------------ admin impersonation
for name, caller in (
    ("session named like the admin role", (ARCHIVE_ACCOUNT, sts(ARCHIVE_ACCOUNT, "reader", "platform-admin"))),
    ("same-named role in a source account", (SOURCE_ACCOUNT, sts(SOURCE_ACCOUNT, "platform-admin", "alice"))),
    ("same-named role in another account", (OTHER, sts(OTHER, "platform-admin", "alice"))),
    ("IAM user named like the role", (ARCHIVE_ACCOUNT, f"arn:aws:iam::{ARCHIVE_ACCOUNT}:user/platform-admin")),
    ("IAM user under a role/ path", (ARCHIVE_ACCOUNT, f"arn:aws:iam::{ARCHIVE_ACCOUNT}:user/role/platform-admin")),
    ("federated user", (ARCHIVE_ACCOUNT, f"arn:aws:sts::{ARCHIVE_ACCOUNT}:federated-user/platform-admin")),
    ("another case", (ARCHIVE_ACCOUNT, sts(ARCHIVE_ACCOUNT, "Platform-Admin", "alice"))),
    ("a longer name", (ARCHIVE_ACCOUNT, sts(ARCHIVE_ACCOUNT, "platform-admin2", "alice"))),
    ("a prefix", (ARCHIVE_ACCOUNT, sts(ARCHIVE_ACCOUNT, "platform-admi", "alice"))),
    ("root of the archive account", (ARCHIVE_ACCOUNT, f"arn:aws:iam::{ARCHIVE_ACCOUNT}:root")),
    ("another partition", (ARCHIVE_ACCOUNT, f"arn:aws-cn:sts::{ARCHIVE_ACCOUNT}:assumed-role/platform-admin/a")),
):
    # Each acts on an account not its own: only an admin could.
    target, cluster = (SOURCE_ACCOUNT, "orders") if caller[0] == OTHER else (OTHER, "billing")
    case("admin impersonation", f"{name}: onboard", "POST", "/clusters", 403, FORBIDDEN,
         body=onboarding(cluster, target), caller=caller)  # fmt: skip
    case("admin impersonation", f"{name}: offboard", "DELETE", f"/clusters/{target}/{REGION}/{cluster}", 403,
         FORBIDDEN, caller=caller)  # fmt: skip
for name, arn in (
    ("the role's own ARN", ADMIN_ROLE),  # a role signs nothing; its sessions do
    ("a path in the session ARN", f"arn:aws:sts::{ARCHIVE_ACCOUNT}:assumed-role/admins/platform-admin/alice"),
    ("an admin ARN with a space", ADMIN + " "),
):
    case("admin impersonation", name, "DELETE", BILLING, 403, UNSIGNED,
         identity={"accountId": ARCHIVE_ACCOUNT, "userArn": arn})  # fmt: skip

# ------------------------------------------------------------------------------ malformed and oversized bodies
for name, text, named in (
    ("not JSON", "{not json", "not valid JSON"),
    ("truncated", json.dumps(onboarding())[:-1], "not valid JSON"),
    ("two objects", json.dumps(onboarding()) * 2, "not valid JSON"),
    ("trailing garbage", json.dumps(onboarding()) + " x", "not valid JSON"),
    ("byte-order mark", "\ufeff" + json.dumps(onboarding()), "not valid JSON"),
    ("array of the request", json.dumps([onboarding()]), "not a JSON array"),
    ("array of two requests", json.dumps([onboarding(), onboarding("billing", OTHER)]), "not a JSON array"),
    ("string", '"orders"', "not a JSON string"),
    ("number", "42", "not a JSON number"),
    ("null", "null", "not a JSON null"),
    ("true", "true", "not a JSON true"),
    ("empty", "", "it is empty"),
    ("whitespace", "  \n ", "it is empty"),
    ("5,000-digit integer", '{"log_retention_days": ' + "9" * 5000 + "}", "digits"),
    ("65-digit integer", '{"log_retention_days": ' + "1" * 65 + "}", "digits"),
    ("NaN", '{"log_retention_days": NaN}', "NaN is not JSON"),
    ("Infinity", '{"log_retention_days": Infinity}', "Infinity is not JSON"),
    ("-Infinity", '{"log_retention_days": -Infinity}', "Infinity is not JSON"),
    ("deep nesting", "[" * 4000 + "]" * 4000, "not a JSON array"),
    (
        "duplicate key",
        f'{{"account_id": "{SOURCE_ACCOUNT}", "account_id": "{OTHER}", "region": "{REGION}", "cluster_id": "billing"}}',
        "appears twice",
    ),
    ("lone surrogate", '{"account_id": "\\ud800", "region": "eu-west-1", "cluster_id": "o"}', "not valid JSON"),
    ("single quotes", "{'account_id': '1'}", "not valid JSON"),
):
    case("malformed body", name, "POST", "/clusters", 400, named, body=text)
case("malformed body", "over 8 KiB", "POST", "/clusters", 413, "at most 8192", body=onboarding(pad="x" * 9000))
case("malformed body", "8 KiB of whitespace", "POST", "/clusters", 413, "at most 8192",
     body=json.dumps(onboarding()) + " " * 8192)  # fmt: skip
case("malformed body", "nested object for an identifier", "POST", "/clusters", 422, "body.cluster_id",
     body=onboarding(cluster_id={"$ne": ""}))  # fmt: skip
NESTED = '{"a": ' * 1000 + "1" + "}" * 1000
case("malformed body", "deeply nested identifier", "POST", "/clusters", 422, "body.cluster_id",
     body=json.dumps(onboarding(cluster_id="NESTED")).replace('"NESTED"', NESTED))  # fmt: skip
case("malformed body", "list for an identifier", "POST", "/clusters", 422, "body.account_id",
     body=onboarding(account_id=[SOURCE_ACCOUNT]))  # fmt: skip
case("malformed body", "missing cluster_id", "POST", "/clusters", 422, "body.cluster_id",
     body={"account_id": SOURCE_ACCOUNT, "region": REGION})  # fmt: skip
case("malformed body", "body on GET", "GET", ORDERS, 400, "takes no body", body=onboarding())
case("malformed body", "body on DELETE", "DELETE", BILLING, 400, "takes no body", body={"account_id": SOURCE_ACCOUNT})
case("malformed body", "body on verify", "POST", f"{ORDERS}/verify", 400, "takes no body", body="{}")
case("malformed body", "body on list", "GET", "/clusters", 400, "takes no body", body={"admin": True})

# ------------------------------------------------------------------------------------ identifiers in the body
for name, fields, named in (
    ("account 11 digits", {"account_id": SOURCE_ACCOUNT[:-1]}, "body.account_id"),
    ("account 13 digits", {"account_id": SOURCE_ACCOUNT + "1"}, "body.account_id"),
    ("account Arabic-Indic digits", {"account_id": ARABIC_ACCOUNT}, "body.account_id"),
    ("account fullwidth digits", {"account_id": FULLWIDTH_ACCOUNT}, "body.account_id"),
    ("account Devanagari digits", {"account_id": "१११११११११११११"[:12]}, "body.account_id"),
    ("account trailing newline", {"account_id": SOURCE_ACCOUNT + "\n"}, "body.account_id"),
    ("account leading space", {"account_id": " " + SOURCE_ACCOUNT}, "body.account_id"),
    ("account as a number", {"account_id": int(SOURCE_ACCOUNT)}, "body.account_id"),
    ("account empty", {"account_id": ""}, "body.account_id"),
    ("region upper case", {"region": "EU-WEST-1"}, "body.region"),
    ("region Arabic-Indic digit", {"region": "eu-west-\u0661"}, "body.region"),
    ("region fullwidth digit", {"region": "eu-west-\uff11"}, "body.region"),
    ("region trailing newline", {"region": "eu-west-1\n"}, "body.region"),
    ("region underscores", {"region": "eu_west_1"}, "body.region"),
    ("region NUL", {"region": "eu-west-1\x00"}, "body.region"),
    ("cluster 64 characters", {"cluster_id": "a" * 64}, "body.cluster_id"),
    ("cluster double hyphen", {"cluster_id": "orders--db"}, "body.cluster_id"),
    ("cluster trailing hyphen", {"cluster_id": "orders-"}, "body.cluster_id"),
    ("cluster leading digit", {"cluster_id": "1orders"}, "body.cluster_id"),
    ("cluster leading hyphen", {"cluster_id": "-orders"}, "body.cluster_id"),
    ("cluster accented", {"cluster_id": "ordérs"}, "body.cluster_id"),
    ("cluster Cyrillic look-alike", {"cluster_id": "\u043erders"}, "body.cluster_id"),
    ("cluster fullwidth", {"cluster_id": "\uff4f\uff52\uff44\uff45\uff52\uff53"}, "body.cluster_id"),
    ("cluster Arabic-Indic digit", {"cluster_id": "orders\u0663"}, "body.cluster_id"),
    ("cluster NUL", {"cluster_id": "orders\x00"}, "body.cluster_id"),
    ("cluster newline", {"cluster_id": "orders\n"}, "body.cluster_id"),
    ("cluster slash traversal", {"cluster_id": "../billing"}, "body.cluster_id"),
    ("cluster encoded slash", {"cluster_id": "orders%2Fbilling"}, "body.cluster_id"),
    ("cluster space", {"cluster_id": "orders db"}, "body.cluster_id"),
    ("cluster empty", {"cluster_id": ""}, "body.cluster_id"),
    ("database injection", {"database": "x; DROP DATABASE y"}, "body.database"),
    ("database empty", {"database": ""}, "body.database"),
    ("database 64 characters", {"database": "d" * 64}, "body.database"),
    ("database non-ASCII", {"database": "データ"}, "body.database"),
    ("database Arabic-Indic digit", {"database": "db\u0663"}, "body.database"),
    (
        "secret of another account",
        {"secret_arn": f"arn:aws:secretsmanager:{REGION}:{OTHER}:secret:x-AbCdEf"},
        f"account {OTHER}",
    ),
    (
        "secret of another region",
        {"secret_arn": f"arn:aws:secretsmanager:us-east-1:{SOURCE_ACCOUNT}:secret:x-AbC"},
        "region us-east-1",
    ),
    (
        "secret of another service",
        {"secret_arn": f"arn:aws:ssm:{REGION}:{SOURCE_ACCOUNT}:parameter/x"},
        "body.secret_arn",
    ),
    (
        "secret with Unicode digits",
        {"secret_arn": f"arn:aws:secretsmanager:{REGION}:{ARABIC_ACCOUNT}:secret:x"},
        "body.secret_arn",
    ),
    (
        "secret too long",
        {"secret_arn": f"arn:aws:secretsmanager:{REGION}:{SOURCE_ACCOUNT}:secret:" + "s" * 2048},
        "body.secret_arn",
    ),
    ("secret as a number", {"secret_arn": 42}, "body.secret_arn"),
):
    case("identifier", f"body {name}", "POST", "/clusters", 422, named, body=onboarding(**fields))

# ------------------------------------------------------------------------- identifiers in the path and query
for name, path, named in (
    ("account Arabic-Indic digits", f"/clusters/{ARABIC_ACCOUNT}/{REGION}/orders", "path.account_id"),
    ("account fullwidth digits", f"/clusters/{FULLWIDTH_ACCOUNT}/{REGION}/orders", "path.account_id"),
    ("account 13 digits", f"/clusters/{SOURCE_ACCOUNT}1/{REGION}/orders", "path.account_id"),
    ("account encoded newline", f"/clusters/{SOURCE_ACCOUNT}%0A/{REGION}/orders", "path.account_id"),
    ("region Arabic-Indic digit", f"/clusters/{SOURCE_ACCOUNT}/eu-west-%D9%A1/orders", "path.region"),
    ("region upper case", f"/clusters/{SOURCE_ACCOUNT}/EU-WEST-1/orders", "path.region"),
    ("cluster double hyphen", f"/clusters/{SOURCE_ACCOUNT}/{REGION}/orders--db", "path.cluster_id"),
    ("cluster trailing hyphen", f"/clusters/{SOURCE_ACCOUNT}/{REGION}/orders-", "path.cluster_id"),
    ("cluster 64 characters", f"/clusters/{SOURCE_ACCOUNT}/{REGION}/{'a' * 64}", "path.cluster_id"),
    ("cluster encoded slash", f"/clusters/{SOURCE_ACCOUNT}/{REGION}/..%2F..%2Fbilling", "path.cluster_id"),
    ("cluster encoded NUL", f"/clusters/{SOURCE_ACCOUNT}/{REGION}/orders%00", "path.cluster_id"),
    ("cluster dot-dot", f"/clusters/{SOURCE_ACCOUNT}/{REGION}/..", "path.cluster_id"),
    ("cluster fullwidth", f"/clusters/{SOURCE_ACCOUNT}/{REGION}/%EF%BD%8F%EF%BD%92%EF%BD%84", "path.cluster_id"),
):
    for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/verify")):
        case("identifier", f"path {name} {method}", method, path + suffix, 422, named)
for name, value in (("Arabic-Indic", ARABIC_ACCOUNT), ("short", "12"), ("spaces", f" {SOURCE_ACCOUNT} ")):
    case(
        "identifier", f"query account {name}", "GET", "/clusters", 422, "query.account_id", query={"account_id": value}
    )

# ------------------------------------------------------------------------------------------ option values
for name, fields in (
    ("retention as a string", {"log_retention_days": "30"}),
    ("retention padded string", {"log_retention_days": " 30 "}),
    ("retention with underscore", {"log_retention_days": "3_0"}),
    ("retention true", {"log_retention_days": True}),
    ("retention float", {"log_retention_days": 30.0}),
    ("retention not allowed", {"log_retention_days": 42}),
    ("retention negative", {"log_retention_days": -30}),
    ("retention zero", {"log_retention_days": 0}),
    ("retention list", {"log_retention_days": [30]}),
    ("canary yes", {"canary": "yes"}),
    ("canary true string", {"canary": "true"}),
    ("canary 1", {"canary": 1}),
    ("canary null", {"canary": None}),
    ("reboot capitalised", {"reboot": "Immediate"}),
    ("reboot unknown", {"reboot": "now"}),
    ("reboot true", {"reboot": True}),
    ("pgaudit_log empty", {"pgaudit_log": ""}),
    ("pgaudit_log unknown class", {"pgaudit_log": "everything"}),
    ("pgaudit_log empty item", {"pgaudit_log": "ddl,,role"}),
    ("pgaudit_log a list", {"pgaudit_log": ["ddl"]}),
    ("pgaudit_log a number", {"pgaudit_log": 1}),
    ("filter_pattern empty", {"filter_pattern": ""}),
    ("filter_pattern too long", {"filter_pattern": "x" * 1025}),
    ("filter_pattern NUL", {"filter_pattern": "AUDIT\x00"}),
    ("filter_pattern newline", {"filter_pattern": '"AUDIT:"\n'}),
    ("filter_pattern a number", {"filter_pattern": 7}),
):
    option = next(iter(fields))
    case("option", name, "POST", "/clusters", 422, f"body.{option}", body=onboarding(**fields))
for name, query, named in (
    ("restore yes", {"restore": "yes"}, "query.restore"),
    ("restore 1", {"restore": "1"}, "query.restore"),
    ("restore True", {"restore": "True"}, "query.restore"),
):
    case("option", name, "DELETE", ORDERS, 422, named, query=query)
for name, value in (("zero", "0"), ("101", "101"), ("padded", " 5 "), ("underscore", "1_0"), ("plus", "+5"),
                    ("Arabic-Indic", "\u0665"), ("float", "5.0"), ("negative", "-1")):  # fmt: skip
    case("option", f"limit {name}", "GET", "/clusters", 422, "query.limit", query={"limit": value})
case("option", "status unknown", "GET", "/clusters", 422, "query.status", query={"status": "hacked"})
case("option", "repeated limit", "GET", "/clusters", 400, "more than once", query={"limit": "1"},
     multi_query={"limit": ["1", "100"]})  # fmt: skip
case("option", "repeated account", "GET", "/clusters", 400, "more than once", query={"account_id": SOURCE_ACCOUNT},
     multi_query={"account_id": [OTHER, SOURCE_ACCOUNT]})  # fmt: skip

# ------------------------------------------------------------------------------------------- idempotency
for name, key in (
    ("257 characters", "k" * 257),
    ("space", "deploy 42"),
    ("control character", "deploy\x0142"),
    ("non-ASCII", "ключ"),
    ("empty", ""),
):
    case("idempotency", f"key {name}", "POST", "/clusters", 400, "Idempotency-Key", body=onboarding("inventory"),
         headers={"Idempotency-Key": key})  # fmt: skip
case("idempotency", "two keys", "POST", "/clusters", 400, "Idempotency-Key", body=onboarding("inventory"),
     headers={"Idempotency-Key": "a", "idempotency-key": "b"})  # fmt: skip
case(
    "idempotency",
    "admin's key replayed by a non-admin",
    "POST",
    "/clusters",
    403,
    FORBIDDEN,
    body=onboarding("billing", OTHER),
    headers={"Idempotency-Key": "admin-key"},
    caller=(ARCHIVE_ACCOUNT, READER),
)
case("idempotency", "bob's key replayed by another account", "POST", "/clusters", 403, FORBIDDEN,
     body=onboarding("inventory"), headers={"Idempotency-Key": "bob-key"}, caller=(OTHER, EVE))  # fmt: skip
case("idempotency", "same key, another body", "POST", "/clusters", 422, "used before with a different body",
     body=onboarding("inventory", log_retention_days=60), headers={"Idempotency-Key": "bob-key"})  # fmt: skip
case("idempotency", "same key, a body below the audit policy", "POST", "/clusters", 403, "MinimumPgauditLog",
     body=onboarding("inventory", pgaudit_log="none"), headers={"Idempotency-Key": "bob-key"})  # fmt: skip
case("idempotency", "admin's key for a body that never was", "POST", "/clusters", 403, FORBIDDEN,
     body=onboarding("orders"), headers={"Idempotency-Key": "admin-key"}, caller=(OTHER, EVE))  # fmt: skip


# ------------------------------------------------------------------------------------------------ adoption
# POST /accounts/{id}/adopt starts a workflow that onboards every eligible cluster of an account: the same identity,
# region and key rules as POST /clusters, checked before anything is counted, held or started.
ADOPT = f"/accounts/{SOURCE_ACCOUNT}/adopt"
case("adoption", "another account's clusters", "POST", f"/accounts/{OTHER}/adopt", 403, FORBIDDEN, body={})
case("adoption", "another account's, with its owner's key", "POST", ADOPT, 403, FORBIDDEN, body={"dry_run": True},
     headers={"Idempotency-Key": "bob-adopt-key"}, caller=(OTHER, EVE))  # fmt: skip
for name, region in (
    ("empty", ""),  # not "this stack's region": an empty field is a mistake to name, not a default
    ("upper case", "EU-WEST-1"),
    ("Arabic-Indic digit", "eu-west-\u0661"),
    ("trailing newline", "eu-west-1\n"),
    ("NUL", "eu-west-1\x00"),
):
    case("adoption", f"region {name}", "POST", ADOPT, 422, "body.region", body={"region": region, "dry_run": True})
for name, key in (("257 characters", "k" * 257), ("space", "adopt 42"), ("non-ASCII", "ключ"), ("empty", "")):
    case("adoption", f"Idempotency-Key {name}", "POST", ADOPT, 400, "Idempotency-Key", body={"dry_run": True},
         headers={"Idempotency-Key": key})  # fmt: skip
case("adoption", "two Idempotency-Keys", "POST", ADOPT, 400, "Idempotency-Key", body={"dry_run": True},
     headers={"Idempotency-Key": "a", "idempotency-key": "b"})  # fmt: skip


# ------------------------------------------------------------------------------------------- DB instances
# /instances routes: the same rules as /clusters, and another identifier namespace (a cluster is no DB instance).
OTHERS_INSTANCE = f"/instances/{OTHER}/{REGION}/billing"
ORDERS_INSTANCE = f"/instances/{SOURCE_ACCOUNT}/{REGION}/orders"
for method, path, body in (
    ("POST", "/instances", {"account_id": OTHER, "region": REGION, "instance_id": "billing"}),
    ("GET", OTHERS_INSTANCE, None),
    ("DELETE", OTHERS_INSTANCE, None),
    ("POST", f"{OTHERS_INSTANCE}/verify", None),
):
    case("instances", f"another account's: {method} {path}", method, path, 403, FORBIDDEN, body=body)
for method, path in (("GET", ORDERS_INSTANCE), ("DELETE", ORDERS_INSTANCE), ("POST", f"{ORDERS_INSTANCE}/verify")):
    case("instances", f"eve {method} {path}", method, path, 403, FORBIDDEN, caller=(OTHER, EVE))
case("instances", "verify with no identity", "POST", f"{ORDERS_INSTANCE}/verify", 403, UNSIGNED, identity={})
case("instances", "body on verify", "POST", f"{ORDERS_INSTANCE}/verify", 400, "takes no body", body="{}")
case("instances", "verify in another region", "POST", f"/instances/{SOURCE_ACCOUNT}/us-east-1/orders/verify", 400,
     "us-east-1")  # fmt: skip
case("instances", "verify a cluster as a DB instance", "POST", f"{ORDERS_INSTANCE}/verify", 404, "not in the registry")
for name, instance in (("double hyphen", "orders--db"), ("encoded slash", "..%2Fbilling"), ("64 characters", "a" * 64)):
    for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/verify")):
        case("instances", f"path instance {name} {method}", method,
             f"/instances/{SOURCE_ACCOUNT}/{REGION}/{instance}{suffix}", 422, "path.instance_id")  # fmt: skip
for method, path in (("GET", f"{ORDERS_INSTANCE}/verify"), ("POST", "/instances/verify"), ("PUT", ORDERS_INSTANCE)):
    case("unknown route", f"{method} {path}", method, path, 403, "Missing Authentication Token")

# ----------------------------------------------------------------------------- other adoption routes
case("adoption", "another account's adoption", "GET", f"/accounts/{OTHER}/adoptions/adopt-{OTHER}-{REGION}-0123abcd",
     403, FORBIDDEN)  # fmt: skip
case("adoption", "a source account adopts the organization", "POST", "/organization/adopt", 403,
     "may not adopt the whole organization", body={"dry_run": True})  # fmt: skip
case("adoption", "a source account reads an organization adoption", "GET",
     f"/organization/adoptions/adopt-organization-{REGION}-0123abcd", 403,
     "may not adopt the whole organization")  # fmt: skip


# ------------------------------------------------------------------------------------------ page tokens
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


for name, query in (
    ("garbage", lambda known: {"next_token": "garbage"}),
    ("base64 of text", lambda known: {"next_token": _b64(b"not json")}),
    ("base64 of a list", lambda known: {"next_token": _b64(b"[1, 2]")}),
    ("forged start key", lambda known: {"next_token": _b64(json.dumps({"source_id": f"{OTHER}#{REGION}#billing",
                                                                       "account_id": SOURCE_ACCOUNT}).encode())}),
    ("forged key with a made-up MAC", lambda known: {"next_token": known["start"] + ".AAAA"}),
    ("one character changed", lambda known: {"next_token": known["token"][:-1] + ("A" if known["token"][-1] != "A"
                                                                                  else "B")}),
    ("truncated", lambda known: {"next_token": known["token"][:-2]}),
    ("extended", lambda known: {"next_token": known["token"] + "A"}),
    ("another status", lambda known: {"next_token": known["token"], "status": "active"}),
    ("non-ASCII", lambda known: {"next_token": known["token"] + "é"}),
    ("only a dot", lambda known: {"next_token": "."}),
):  # fmt: skip
    case("page token", name, "GET", "/clusters", 400, "next_token", query=query)
case("page token", "another session of the same role", "GET", "/clusters", 400, "next_token",
     query=lambda known: {"next_token": known["token"]}, caller=(SOURCE_ACCOUNT, CAROL))  # fmt: skip
case("page token", "the admin's token", "GET", "/clusters", 400, "next_token",
     query=lambda known: {"next_token": known["admin_token"]})  # fmt: skip
case(
    "page token",
    "the admin's token with another account filter",
    "GET",
    "/clusters",
    400,
    "next_token",
    query=lambda known: {"next_token": known["admin_token"], "account_id": OTHER},
    caller=(ARCHIVE_ACCOUNT, ADMIN),
)
case("page token", "too long", "GET", "/clusters", 422, "query.next_token", query={"next_token": "a" * 2049})

# ------------------------------------------------------------------------------------------ content types
for content_type, body in (
    ("application/x-www-form-urlencoded", f"account_id={SOURCE_ACCOUNT}&region={REGION}&cluster_id=inventory"),
    ("multipart/form-data; boundary=b", f'--b\r\nContent-Disposition: form-data; name="account_id"\r\n\r\n'
                                        f"{SOURCE_ACCOUNT}\r\n--b--\r\n"),
    ("text/plain", None),
    ("application/xml", "<onboard/>"),
    ("application/jsonx", None),
    ("application/json-patch+json", None),
    ("application/*", None),
    ("*/*", None),
    ("json", None),
    ("application/json; charset=latin-1", None),
    ("application/json; boundary=b", None),
    ("application/json;", None),
    ("", None),
):  # fmt: skip
    case("content type", repr(content_type), "POST", "/clusters", 415, "send application/json",
         body=body or json.dumps(onboarding("inventory")), headers={"Content-Type": content_type})  # fmt: skip
case(
    "content type",
    "two Content-Type headers",
    "POST",
    "/clusters",
    415,
    "send application/json",
    body=onboarding("inventory"),
    headers={"Content-Type": "application/json", "content-type": "text/plain"},
)

# ----------------------------------------------------------------- audit policy (a confused deputy, issue 13)
for name, fields, named in (
    ("pgaudit_log none", {"pgaudit_log": "none"}, "MinimumPgauditLog"),
    ("pgaudit_log all but ddl", {"pgaudit_log": "all,-ddl"}, "does not audit ddl"),
    ("pgaudit_log subtracting all", {"pgaudit_log": "ddl,role,write,-all"}, "MinimumPgauditLog"),
    ("pgaudit_log none then some", {"pgaudit_log": "none,ddl,role"}, "does not audit write"),
    ("pgaudit_log read only", {"pgaudit_log": "read"}, "MinimumPgauditLog"),
    ("a pattern matching nothing", {"filter_pattern": '"NOTHING-MATCHES-THIS"'}, "AllowedFilterPatterns"),
    ("an unquoted pattern", {"filter_pattern": "AUDIT"}, "AllowedFilterPatterns"),
    ("an immediate reboot", {"reboot": "immediate"}, "AuditReducerRoleNames"),
    ("another allowed pattern than now", {"filter_pattern": '?"AUDIT:" ?"ERROR:" ?"STATEMENT:"'},
     "AuditReducerRoleNames"),
):  # fmt: skip
    case("audit policy", f"owner: {name}", "POST", "/clusters", 403, named, body=onboarding("orders", **fields))
case("audit policy", "owner offboards", "DELETE", ORDERS, 403, "AuditReducerRoleNames")
case("audit policy", "owner offboards with restore", "DELETE", ORDERS, 403, "AuditReducerRoleNames",
     query={"restore": "true"})  # fmt: skip
case("audit policy", "the reducer's name as a session name", "DELETE", ORDERS, 403, "AuditReducerRoleNames",
     caller=(SOURCE_ACCOUNT, sts(SOURCE_ACCOUNT, "team-deployer", REDUCER_ROLE)))  # fmt: skip
case("audit policy", "the reducer's name as a user", "DELETE", ORDERS, 403, "AuditReducerRoleNames",
     caller=(SOURCE_ACCOUNT, f"arn:aws:iam::{SOURCE_ACCOUNT}:user/{REDUCER_ROLE}"))  # fmt: skip
case("audit policy", "another account's reducer", "DELETE", ORDERS, 403, FORBIDDEN,
     caller=(OTHER, sts(OTHER, REDUCER_ROLE)))  # fmt: skip
case("audit policy", "a reducer below the minimum", "POST", "/clusters", 403, "MinimumPgauditLog",
     body=onboarding("orders", pgaudit_log="none"), caller=(SOURCE_ACCOUNT, DANA))  # fmt: skip

# --------------------------------------------------------------------------------- unknown routes and methods
for method, path in (
    ("PUT", "/clusters"), ("PATCH", "/clusters"), ("DELETE", "/clusters"), ("OPTIONS", "/clusters"),
    ("HEAD", ORDERS), ("PUT", ORDERS), ("GET", f"/clusters/{SOURCE_ACCOUNT}/{REGION}"), ("GET", f"{ORDERS}/extra"),
    ("GET", f"{ORDERS}/verify"), ("GET", "/admin"), ("POST", "/clusters/verify"), ("GET", "/"),
):  # fmt: skip
    case("unknown route", f"{method} {path}", method, path, 403, "Missing Authentication Token")
case("unknown route", "another region", "DELETE", f"/clusters/{SOURCE_ACCOUNT}/us-east-1/orders", 400, "us-east-1")
case("unknown route", "onboard in another region", "POST", "/clusters", 400, "us-east-1",
     body=onboarding(region="us-east-1"))  # fmt: skip
case("unknown route", "offboard a cluster never onboarded", "DELETE", f"/clusters/{SOURCE_ACCOUNT}/{REGION}/ghost",
     404, "not in the registry")  # fmt: skip
case("unknown route", "verify a cluster never onboarded", "POST", f"/clusters/{SOURCE_ACCOUNT}/{REGION}/ghost/verify",
     404, "not in the registry")  # fmt: skip


# ------------------------------------------------------------------------------------------------ the world
@pytest.fixture(scope="module")
def world():
    parameters = {"AdminPrincipalArns": ADMIN_ROLE, "AllowedAccountIds": f"{SOURCE_ACCOUNT},{OTHER}",
                  "AuditReducerRoleNames": REDUCER_ROLE}  # fmt: skip
    with World(source_accounts=(SOURCE_ACCOUNT, OTHER), parameters=parameters) as emulated:
        for cluster, account in (("orders", SOURCE_ACCOUNT), ("inventory", SOURCE_ACCOUNT), ("billing", OTHER)):
            emulated.create_cluster(cluster, account=account)
        started = [
            emulated.api("POST", "/clusters", caller_account=SOURCE_ACCOUNT, caller_arn=BOB,
                         body=onboarding("inventory"), headers={"Idempotency-Key": "bob-key"}),
            emulated.api("POST", "/clusters", caller_account=SOURCE_ACCOUNT, caller_arn=BOB, body=onboarding()),
            emulated.api("POST", "/clusters", caller_account=ARCHIVE_ACCOUNT, caller_arn=ADMIN,
                         body=onboarding("billing", OTHER), headers={"Idempotency-Key": "admin-key"}),
        ]  # fmt: skip
        for response in started:
            assert response.status == 202, response.body
            assert emulated.wait(response.body["execution_arn"]).status == "SUCCEEDED"
        yield emulated


@pytest.fixture(scope="module")
def known(world) -> dict[str, str]:
    """Page tokens a legitimate listing hands out (bob's own, the admin's)."""
    token = as_bob(world, "GET", "/clusters", query={"limit": "1"}).body["next_token"]
    admin = world.api("GET", "/clusters", caller_account=ARCHIVE_ACCOUNT, caller_arn=ADMIN, query={"limit": "1"})
    return {"token": token, "start": token.rpartition(".")[0], "admin_token": admin.body["next_token"]}


def as_bob(world, method: str, path: str, **options: Any):
    return world.api(method, path, caller_account=SOURCE_ACCOUNT, caller_arn=BOB, **options)


def state(world) -> tuple[list[str], int]:
    """The registry's items and how many executions exist, read from the emulation's memory (fast: no API)."""
    table = dynamodb_backends[ARCHIVE_ACCOUNT][REGION].tables[world.resources["RegistryTable"]]
    machines = stepfunctions_parser_backends[ARCHIVE_ACCOUNT][REGION].state_machines
    items = sorted(json.dumps(item.to_json(), sort_keys=True) for item in table.all_items())
    return items, sum(len(machine.executions) for machine in machines)


def send(world, known: dict[str, str], hostile: Case) -> tuple[int, Any]:
    query = hostile.query(known) if callable(hostile.query) else hostile.query
    if hostile.identity is None and hostile.multi_query is None:
        account, arn = hostile.caller
        response = world.api(hostile.method, hostile.path, caller_account=account, caller_arn=arn,
                             body=hostile.body, headers=hostile.headers, query=query)  # fmt: skip
        return response.status, response.body
    resource, parameters = _route_of(hostile.method, hostile.path, list(ROUTES)) or (hostile.path, {})
    event = rest_api_event(hostile.method, hostile.path, resource, parameters, hostile.body, hostile.headers, query,
                           SOURCE_ACCOUNT, BOB)  # fmt: skip
    if hostile.identity is not None:
        event["requestContext"]["identity"] = hostile.identity
    if hostile.multi_query is not None:
        event["multiValueQueryStringParameters"] = hostile.multi_query
    payload, errored = world.lambdas.call(world.resources["ApiFunction"], event)
    assert not errored, payload
    return payload["statusCode"], json.loads(payload["body"])


@pytest.mark.parametrize("hostile", CASES, ids=[f"{c.category}: {c.name}" for c in CASES])
def test_hostile_request_is_refused_naming_the_problem_and_changes_nothing(world, known, hostile):
    before = state(world)
    mark = world.calls.mark()

    status, body = send(world, known, hostile)

    assert status == hostile.status and 400 <= status < 500, body
    assert isinstance(body, dict) and (body.get("message") or body.get("Message")), body
    assert hostile.named in json.dumps(body, ensure_ascii=False), body
    assert world.calls.mutating(mark) == []
    assert world.calls.operations(mark)["dynamodb:UpdateItem"] == 0  # no registry write, even one undone
    assert state(world) == before


def test_the_suite_covers_every_threat_with_at_least_150_cases():
    categories = Counter(hostile.category for hostile in CASES)
    assert len(CASES) >= 150 and all(count >= 5 for count in categories.values()), categories


def test_every_route_of_the_api_is_attacked():
    attacked = {(hostile.method, route[0]) for hostile in CASES
                if (route := _route_of(hostile.method, hostile.path, list(ROUTES)))}  # fmt: skip
    assert set(ROUTES) - attacked == set()


# ------------------------------------------------------------------- legitimate requests in the same world
def test_the_owner_reads_its_cluster_and_lists_only_its_account(world):
    assert as_bob(world, "GET", ORDERS).body["status"] == "pending-reboot"
    listed = as_bob(world, "GET", "/clusters", query={"account_id": SOURCE_ACCOUNT}).body["items"]
    assert sorted(item["cluster_id"] for item in listed) == ["inventory", "orders"]


def test_the_owner_pages_with_the_tokens_it_was_given(world):
    seen, query = [], {"limit": "1"}
    for _ in range(5):
        page = as_bob(world, "GET", "/clusters", query=query)
        assert page.status == 200, page.body
        seen += [item["cluster_id"] for item in page.body["items"]]
        if not page.body["next_token"]:
            break
        query = {"limit": "1", "next_token": page.body["next_token"]}
    assert sorted(seen) == ["inventory", "orders"]


def test_an_admin_session_lists_and_verifies_any_account(world):
    admin = {"caller_account": ARCHIVE_ACCOUNT, "caller_arn": ADMIN.replace("alice", "another-session")}
    everyone = world.api("GET", "/clusters", **admin).body["items"]
    assert {item["cluster_id"] for item in everyone} == {"billing", "inventory", "orders"}
    verify = world.api("POST", f"{BILLING}/verify", **admin)
    assert verify.status == 202, verify.body
    assert world.wait(verify.body["execution_arn"]).status == "SUCCEEDED"


def test_the_same_principal_replays_its_key_and_gets_its_own_answer(world):
    again = as_bob(world, "POST", "/clusters", body=onboarding("inventory"), headers={"Idempotency-Key": "bob-key"})
    first = world.registry_item("inventory")
    assert (again.status, again.body["execution_arn"]) == (202, first["execution_arn"]), again.body


@pytest.mark.parametrize("content_type", ["Application/JSON", "application/json; charset=UTF-8", None])
def test_json_bodies_are_taken_whatever_the_case_of_the_media_type(world, content_type):
    headers = {"Content-Type": content_type} if content_type else None
    body = json.dumps(onboarding("orders", log_retention_days=30, canary=False, reboot="deferred"))
    response = as_bob(world, "POST", "/clusters", body=body, headers=headers)
    assert response.status == 202, response.body
    assert world.wait(response.body["execution_arn"]).status == "SUCCEEDED"


def test_the_owners_designated_reducer_offboards_its_cluster(world):
    # Offboarding reduces auditing: the owner's own role (bob) is refused above; its designated reducer may.
    response = world.api("DELETE", f"/clusters/{SOURCE_ACCOUNT}/{REGION}/Inventory", caller_account=SOURCE_ACCOUNT,
                         caller_arn=DANA, query={"restore": "false"})  # fmt: skip
    assert response.status == 202, response.body
    assert world.wait(response.body["execution_arn"]).status == "SUCCEEDED"


def test_another_principal_of_the_account_never_gets_an_adoption_answered_for_a_key_it_did_not_send(world):
    # Carol replays the key bob used: the key is bob's, not the account's; bob's own retry gets his adoption.
    body = {"dry_run": True}
    bobs = as_bob(world, "POST", ADOPT, body=body, headers={"Idempotency-Key": "bob-adopt-key"})
    retried = as_bob(world, "POST", ADOPT, body=body, headers={"Idempotency-Key": "bob-adopt-key"})
    carols = world.api("POST", ADOPT, caller_account=SOURCE_ACCOUNT, caller_arn=CAROL, body=body,
                       headers={"Idempotency-Key": "bob-adopt-key"})  # fmt: skip

    assert (bobs.status, retried.status, carols.status) == (202, 202, 202)
    assert retried.body["adoption_id"] == bobs.body["adoption_id"]
    assert carols.body["adoption_id"] != bobs.body["adoption_id"]
    for answer in (bobs, carols):
        assert world.wait(answer.body["execution_arn"]).status == "SUCCEEDED"
