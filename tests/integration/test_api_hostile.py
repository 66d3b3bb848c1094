"""Malformed and hostile requests to the API: each a 4xx naming the problem, with nothing changed. They change
nothing, so one emulated world serves them all (tests/security holds the full adversarial suite)."""

import json

import pytest

from local import ARCHIVE_ACCOUNT, World
from tests.integration.test_api import CLUSTER_PATH, OTHER_ACCOUNT, SOURCE_ACCOUNT, WORLD_PARAMETERS, as_source


@pytest.fixture(scope="module")
def world():
    with World(source_accounts=(SOURCE_ACCOUNT, OTHER_ACCOUNT), parameters=WORLD_PARAMETERS) as emulated:
        emulated.create_cluster("orders")
        emulated.create_cluster("billing", account=OTHER_ACCOUNT)
        yield emulated


def body(**fields):
    return {"account_id": SOURCE_ACCOUNT, "region": "eu-west-1", "cluster_id": "o", **fields}


HOSTILE = [
    ("POST", "/clusters", {"region": "eu-west-1", "cluster_id": "o"}, None, 422, "body.account_id"),
    ("POST", "/clusters", body(account_id="1111"), None, 422, "body.account_id"),
    ("POST", "/clusters", body(account_id=111122223333), None, 422, "body.account_id"),
    ("POST", "/clusters", body(region="Europe"), None, 422, "body.region"),
    ("POST", "/clusters", body(region="us-east-1"), None, 400, "us-east-1"),
    ("POST", "/clusters", body(cluster_id="9lives"), None, 422, "body.cluster_id"),
    ("POST", "/clusters", body(cluster_id="a--b"), None, 422, "body.cluster_id"),
    ("POST", "/clusters", body(cluster_id="x" * 64), None, 422, "body.cluster_id"),
    ("POST", "/clusters", body(cluster_id="o'; DROP"), None, 422, "body.cluster_id"),
    ("POST", "/clusters", body(admin=True), None, 422, "body.admin"),
    ("POST", "/clusters", body(pgaudit_log="everything"), None, 422, "body.pgaudit_log"),
    ("POST", "/clusters", body(reboot="now"), None, 422, "body.reboot"),
    ("POST", "/clusters", body(log_retention_days=42), None, 422, "body.log_retention_days"),
    ("POST", "/clusters", body(log_retention_days="lots"), None, 422, "body.log_retention_days"),
    ("POST", "/clusters", body(filter_pattern=""), None, 422, "body.filter_pattern"),
    ("POST", "/clusters", body(filter_pattern="x" * 1025), None, 422, "body.filter_pattern"),
    ("POST", "/clusters", body(secret_arn="arn:aws:s3:::bucket"), None, 422, "body.secret_arn"),
    ("POST", "/clusters", body(database="x; drop"), None, 422, "body.database"),
    ("POST", "/clusters", "not json", None, 400, "not valid JSON"),
    ("POST", "/clusters", "[1, 2]", None, 400, "one JSON object, not a JSON array"),
    ("POST", "/clusters", None, None, 400, "one JSON object; it is empty"),
    ("POST", "/clusters", body(pad="x" * 9000), None, 413, "at most 8192"),
    ("POST", "/clusters", body(account_id=OTHER_ACCOUNT, cluster_id="billing"), None, 403, "may act only on its own"),
    ("GET", f"/clusters/{OTHER_ACCOUNT}/eu-west-1/billing", None, None, 403, "may act only on its own"),
    ("DELETE", f"/clusters/{OTHER_ACCOUNT}/eu-west-1/billing", None, None, 403, "may act only on its own"),
    ("GET", "/clusters", None, {"account_id": OTHER_ACCOUNT}, 403, "may act only on its own"),
    ("GET", "/clusters", None, {"account_id": "12"}, 422, "account_id"),
    ("GET", "/clusters", None, {"limit": "0"}, 422, "limit"),
    ("GET", "/clusters", None, {"limit": "1000"}, 422, "limit"),
    ("GET", "/clusters", None, {"limit": "ten"}, 422, "limit"),
    ("GET", "/clusters", None, {"status": "hacked"}, 422, "status"),
    ("GET", "/clusters/111122223333/eu-west-1/..%2F..%2Fetc", None, None, 422, "cluster_id"),
    ("GET", "/clusters/1111222233334/eu-west-1/orders", None, None, 422, "account_id"),
    ("GET", "/clusters/111122223333/EU/orders", None, None, 422, "region"),
    ("GET", f"{CLUSTER_PATH}/extra", None, None, 403, "Missing Authentication Token"),
    ("PUT", "/clusters", None, None, 403, "Missing Authentication Token"),
    ("DELETE", f"/clusters/{SOURCE_ACCOUNT}/us-east-1/orders", None, None, 400, "us-east-1"),
    ("DELETE", CLUSTER_PATH, None, {"restore": "maybe"}, 422, "restore"),
    ("GET", f"/clusters/{SOURCE_ACCOUNT}/eu-west-1/never-onboarded", None, None, 404, "is not in the registry"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "query", "status", "named"), HOSTILE, ids=[f"{h[0]} {h[1][:40]} {h[4]}" for h in HOSTILE]
)
def test_malformed_or_hostile_request_gets_4xx_naming_the_problem_and_changes_nothing(
    world, method, path, body, query, status, named
):
    mark = world.calls.mark()
    response = as_source(world, method, path, body=body, query=query)
    assert response.status == status, response.body
    assert named in json.dumps(response.body)
    assert world.calls.mutating(mark) == []
    assert world.calls.summary(mark).get(ARCHIVE_ACCOUNT, {}).get("bookkeeping", 0) == 0


def test_more_than_thirty_hostile_requests_are_covered():
    assert len(HOSTILE) >= 30
