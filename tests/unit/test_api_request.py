"""What ApiFunction checks before routing (functions.api.app.checked_event), the signed caller and page tokens."""

import json

import pytest

from functions.api.app import ROUTES, Refusal, checked_event, openapi_document
from pgaudit_archiver.errors import ForbiddenError, InvalidRequestError
from pgaudit_archiver.service import Caller, PageTokens

ACCOUNT = "111122223333"
BOB = f"arn:aws:sts::{ACCOUNT}:assumed-role/team-deployer/bob"
BODY = {"account_id": ACCOUNT, "region": "eu-west-1", "cluster_id": "orders"}


def event(method="POST", resource="/clusters", body=BODY, headers=None, query=None, identity=None):
    return {
        "httpMethod": method, "resource": resource, "path": resource, "headers": headers or {},
        "multiValueHeaders": {key: [value] for key, value in (headers or {}).items()},
        "queryStringParameters": query, "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()},
        "body": body if isinstance(body, str | None) else json.dumps(body), "isBase64Encoded": False,
        "requestContext": {"identity": {"accountId": ACCOUNT, "userArn": BOB} if identity is None else identity},
    }  # fmt: skip


def refusal(raw):
    with pytest.raises(Refusal) as raised:
        checked_event(raw)
    return raised.value.status, str(raised.value)


@pytest.mark.parametrize("identity", [{}, {"accountId": ACCOUNT}, {"userArn": BOB}, {"accountId": "", "userArn": ""}])
def test_unsigned_request_is_403_before_its_body_or_size_is_read(identity):
    status, message = refusal(event(body="x" * 20_000, identity=identity))
    assert status == 403 and "no signed AWS identity" in message


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([BODY], "not a JSON array"),
        ("[1, 2]", "not a JSON array"),
        ('"orders"', "not a JSON string"),
        ("null", "not a JSON null"),
        ('{"log_retention_days": ' + "9" * 5000 + "}", "5000 digits"),
        ('{"log_retention_days": NaN}', "NaN"),
        ('{"a": 1, "a": 2}', "appears twice"),
        ('{"a": "\\ud800"}', "not valid JSON"),
        ("{not json", "not valid JSON"),
        ("", "it is empty"),
    ],
)
def test_body_the_parser_cannot_take_as_one_json_object_is_400(body, named):
    status, message = refusal(event(body=body))
    assert status == 400 and named in message


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
        "text/plain",
        "application/json; charset=latin-1",
        "application/json; boundary=b",
        "application/jsonx",
    ],
)
def test_media_type_other_than_json_is_415(content_type):
    status, message = refusal(event(headers={"Content-Type": content_type}))
    assert status == 415 and "application/json" in message


@pytest.mark.parametrize("content_type", ["Application/JSON", "application/json; Charset=UTF-8", "APPLICATION/JSON"])
def test_json_media_type_is_compared_case_insensitively_and_handed_on_canonical(content_type):
    checked = checked_event(event(body=" " + json.dumps(BODY), headers={"content-type": content_type}))
    assert checked["headers"] == {"Content-Type": "application/json"}
    assert json.loads(checked["body"]) == BODY


def test_unknown_or_repeated_query_parameter_is_400():
    assert refusal(event("GET", "/clusters", body=None, query={"caller": "x"}))[0] == 400
    repeated = event("GET", "/clusters", body=None, query={"limit": "1"})
    repeated["multiValueQueryStringParameters"] = {"limit": ["1", "100"]}
    assert refusal(repeated) == (400, "query parameter limit is given more than once")


def test_routes_table_names_exactly_the_documented_query_parameters_and_bodies():
    paths = json.loads(openapi_document())["paths"]
    documented = {
        (method.upper(), path): (
            "requestBody" in operation,
            frozenset(p["name"] for p in operation.get("parameters", []) if p["in"] == "query"),
        )
        for path, operations in paths.items()
        for method, operation in operations.items()
    }
    assert documented == ROUTES


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/platform-admin",  # a role signs nothing; its sessions do
        "arn:aws:sts::123456789012:assumed-role/platform-admin",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/team/bob",  # not the account the identity names
        "arn:aws:sts::123456789012:assumed-role/path/platform-admin/alice",
    ],
)
def test_caller_must_be_a_well_formed_principal_of_its_account(arn):
    with pytest.raises(ForbiddenError):
        Caller.signed("123456789012", arn)


def test_page_token_opens_only_unchanged_and_for_its_own_binding():
    tokens = PageTokens(lambda: b"k" * 32)
    sealed = tokens.seal("eyJzb3VyY2VfaWQiOiAiYSJ9", "bob")
    assert tokens.open(sealed, "bob") == "eyJzb3VyY2VfaWQiOiAiYSJ9"
    for token, binding in ((sealed, "carol"), (sealed[:-1], "bob"), ("x" + sealed, "bob"), (sealed + "é", "bob")):
        with pytest.raises(InvalidRequestError, match="next_token"):
            tokens.open(token, binding)
    assert PageTokens(lambda: b"other key" * 4).seal("eyJzb3VyY2VfaWQiOiAiYSJ9", "bob") != sealed
