"""The self-service API on the emulation: who may do what, what is refused and that a refusal changes nothing."""

import base64
import json

import pytest
from moto.rds.models import rds_backends

from local import ARCHIVE_ACCOUNT, SOURCE_ACCOUNT, World
from local.template import ROOT
from local.world import rest_api_event

OTHER_ACCOUNT = "444455556666"
ADMIN = f"arn:aws:iam::{ARCHIVE_ACCOUNT}:role/platform-admin"
ADMIN_SESSION = f"arn:aws:sts::{ARCHIVE_ACCOUNT}:assumed-role/platform-admin/alice"
SOURCE_CALLER = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/team-deployer/bob"
OTHER_CALLER = f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/team-deployer/eve"
CAROL = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/team-deployer/carol"  # another session of bob's role
REDUCER = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/pgaudit-archiver-reducer/dana"  # may reduce auditing
CLUSTER_PATH = f"/clusters/{SOURCE_ACCOUNT}/eu-west-1/orders"


WORLD_PARAMETERS = {"AdminPrincipalArns": ADMIN, "AllowedAccountIds": f"{SOURCE_ACCOUNT},{OTHER_ACCOUNT}",
                    "AuditReducerRoleNames": "pgaudit-archiver-reducer"}  # fmt: skip


@pytest.fixture
def world():
    with World(source_accounts=(SOURCE_ACCOUNT, OTHER_ACCOUNT), parameters=WORLD_PARAMETERS) as emulated:
        emulated.create_cluster("orders")
        emulated.create_cluster("billing", account=OTHER_ACCOUNT)
        yield emulated


def as_source(world, method, path, **options):
    return world.api(method, path, caller_account=SOURCE_ACCOUNT, caller_arn=SOURCE_CALLER, **options)


def test_source_account_onboards_its_cluster_and_get_shows_it_truthfully(world):
    response = as_source(world, "POST", "/clusters", body=world.request("orders"))

    assert response.status == 202, response.body
    assert response.body["status_path"] == CLUSTER_PATH
    assert as_source(world, "GET", CLUSTER_PATH).body["status"] in {"onboarding", "pending-reboot"}
    execution = world.wait(response.body["execution_arn"])
    assert execution.status == "SUCCEEDED", execution.cause
    item = as_source(world, "GET", CLUSTER_PATH).body
    assert (item["status"], item["execution_arn"]) == ("pending-reboot", execution.arn)


def test_another_account_gets_403_naming_the_rule_and_nothing_changes(world):
    mark = world.calls.mark()
    for method, path, body in (
        ("POST", "/clusters", world.request("orders")),
        ("GET", CLUSTER_PATH, None),
        ("DELETE", CLUSTER_PATH, None),
        ("GET", "/clusters", None),
    ):
        query = {"account_id": SOURCE_ACCOUNT} if path == "/clusters" and method == "GET" else None
        response = world.api(
            method, path, caller_account=OTHER_ACCOUNT, caller_arn=OTHER_CALLER, body=body, query=query
        )
        assert response.status == 403, (method, path, response.body)
        assert f"caller account {OTHER_ACCOUNT} may act only on its own clusters" in response.body["message"]
    assert world.calls.mutating(mark) == []
    assert (
        world.client("stepfunctions").list_executions(stateMachineArn=world.resources["OnboardStateMachine"])[
            "executions"
        ]
        == []
    )


def test_admin_principal_may_act_on_any_account(world):
    response = world.api("POST", "/clusters", caller_account=ARCHIVE_ACCOUNT, caller_arn=ADMIN_SESSION,
                         body=world.request("billing", account=OTHER_ACCOUNT))  # fmt: skip
    assert response.status == 202, response.body
    assert world.wait(response.body["execution_arn"]).status == "SUCCEEDED"


def test_list_shows_only_the_callers_account_and_filters_by_status(world):
    for account, cluster in ((SOURCE_ACCOUNT, "orders"), (OTHER_ACCOUNT, "billing")):
        started = world.api("POST", "/clusters", caller_account=account, caller_arn=f"arn:aws:iam::{account}:user/u",
                            body=world.request(cluster, account=account))  # fmt: skip
        world.wait(started.body["execution_arn"])
    mine = as_source(world, "GET", "/clusters").body["items"]
    assert [item["cluster_id"] for item in mine] == ["orders"]
    everyone = world.api("GET", "/clusters", caller_account=ARCHIVE_ACCOUNT, caller_arn=ADMIN_SESSION).body["items"]
    assert sorted(item["cluster_id"] for item in everyone) == ["billing", "orders"]
    assert as_source(world, "GET", "/clusters", query={"status": "active"}).body["items"] == []


def test_list_pages(world):
    for index in range(3):
        world.create_cluster(f"page-{index}")
        world.wait(as_source(world, "POST", "/clusters", body=world.request(f"page-{index}")).body["execution_arn"])
    seen, token = [], None
    while True:
        query = {"limit": "1", **({"next_token": token} if token else {})}
        page = as_source(world, "GET", "/clusters", query=query).body
        seen += [item["cluster_id"] for item in page["items"]]
        token = page["next_token"]
        if not token:
            break
    assert sorted(seen) == ["page-0", "page-1", "page-2"]


def test_second_request_while_one_runs_returns_the_running_execution():
    with World(parameters={"PollIntervalSeconds": 1}) as world:
        world.create_cluster("orders")
        cluster = rds_backends[SOURCE_ACCOUNT][world.region].clusters["orders"]
        cluster.status = "modifying"  # the first execution waits in its poll loop until this ends
        first = as_source(world, "POST", "/clusters", body=world.request("orders"))
        second = as_source(world, "POST", "/clusters", body=world.request("orders", log_retention_days=60))
        assert (second.status, second.body["already_running"]) == (202, True)
        assert second.body["execution_arn"] == first.body["execution_arn"]
        cluster.status = "available"
        assert world.wait(first.body["execution_arn"]).status == "SUCCEEDED"
        executions = world.client("stepfunctions").list_executions(
            stateMachineArn=world.resources["OnboardStateMachine"]
        )
        assert len(executions["executions"]) == 1
        third = as_source(world, "POST", "/clusters", body=world.request("orders"))
        assert third.body["already_running"] is False  # once it ended, a new request starts a new execution


def test_idempotency_key_returns_the_same_execution_and_refuses_another_body(world):
    headers = {"Idempotency-Key": "deploy-42"}
    first = as_source(world, "POST", "/clusters", body=world.request("orders"), headers=headers)
    world.wait(first.body["execution_arn"])
    again = as_source(world, "POST", "/clusters", body=world.request("orders"), headers=headers)
    assert (again.status, again.body["execution_arn"]) == (202, first.body["execution_arn"])
    other = as_source(world, "POST", "/clusters", body=world.request("orders", log_retention_days=60), headers=headers)
    assert other.status == 422 and "Idempotency-Key" in other.body["message"]


def test_an_execution_step_functions_no_longer_has_does_not_block_a_new_onboarding(world):
    # Step Functions keeps a closed standard execution for 90 days; the registry may outlive it.
    gone = f"arn:aws:states:eu-west-1:{ARCHIVE_ACCOUNT}:execution:pgaudit-archiver-onboard:{SOURCE_ACCOUNT}-orders-gone"
    world.client("dynamodb").put_item(
        TableName=world.resources["RegistryTable"],
        Item={"source_id": {"S": f"{SOURCE_ACCOUNT}#eu-west-1#orders"}, "status": {"S": "onboarding"},
              "execution_arn": {"S": gone}},
    )  # fmt: skip

    response = as_source(world, "POST", "/clusters", body=world.request("orders"))

    assert response.status == 202, response.body
    assert response.body["already_running"] is False and response.body["execution_arn"] != gone
    assert world.wait(response.body["execution_arn"]).status == "SUCCEEDED"


def test_delete_offboards_and_keeps_the_archived_objects(world):
    world.wait(as_source(world, "POST", "/clusters", body=world.request("orders")).body["execution_arn"])
    # Offboarding reduces auditing: a role the account designates (AuditReducerRoleNames) does it, not bob's.
    response = world.api("DELETE", CLUSTER_PATH, caller_account=SOURCE_ACCOUNT, caller_arn=REDUCER,
                         query={"restore": "true"})  # fmt: skip
    assert response.status == 202, response.body
    assert response.body["operation"] == "offboard"
    assert world.wait(response.body["execution_arn"]).status == "SUCCEEDED"
    assert as_source(world, "GET", CLUSTER_PATH).body["status"] == "offboarded"


def test_caller_outside_the_organization_and_listed_accounts_is_refused_by_the_resource_policy(world):
    response = world.api("POST", "/clusters", caller_account="999988887777", body=world.request("orders"))
    assert response.status == 403 and "execute-api:Invoke" in response.body["Message"]


@pytest.mark.parametrize(("sample", "status"), [("onboard", 202), ("list", 200), ("get", 404), ("offboard", 202)])
def test_sample_api_events_work_with_the_function(world, sample, status):
    event = json.loads((ROOT / "events" / "api" / f"{sample}.json").read_text())
    event["body"] = event["body"] and event["body"].replace("orders-db", "orders")
    world.create_cluster("orders-db")
    if sample == "offboard":  # offboarding a cluster never onboarded is 404
        world.onboard(world.request("orders-db"))
    payload, errored = world.lambdas.call(world.resources["ApiFunction"], event)
    assert not errored and payload["statusCode"] == status, payload


def executions(world, machine="OnboardStateMachine"):
    return world.client("stepfunctions").list_executions(stateMachineArn=world.resources[machine])["executions"]


def test_idempotency_key_replays_only_for_the_principal_that_used_it(world):
    # Given an admin's onboarding of another account's cluster under a key
    headers = {"Idempotency-Key": "shared-key"}
    admin_body = world.request("billing", account=OTHER_ACCOUNT)
    first = world.api("POST", "/clusters", caller_account=ARCHIVE_ACCOUNT, caller_arn=ADMIN_SESSION, body=admin_body,
                      headers=headers)  # fmt: skip
    assert first.status == 202, first.body
    world.wait(first.body["execution_arn"])
    # When a non-admin of the same account replays key and body, it is refused, not answered from the cache
    reader = f"arn:aws:sts::{ARCHIVE_ACCOUNT}:assumed-role/reader/mallory"
    replay = world.api("POST", "/clusters", caller_account=ARCHIVE_ACCOUNT, caller_arn=reader, body=admin_body,
                       headers=headers)  # fmt: skip
    assert replay.status == 403, replay.body
    assert first.body["execution_arn"] not in json.dumps(replay.body)
    # And another session of the same role gets no replay of bob's answer: its request is its own
    bob = as_source(world, "POST", "/clusters", body=world.request("orders"), headers=headers)
    world.wait(bob.body["execution_arn"])
    carol = world.api("POST", "/clusters", caller_account=SOURCE_ACCOUNT, caller_arn=CAROL,
                      body=world.request("orders"), headers=headers)  # fmt: skip
    assert carol.status == 202 and carol.body["execution_arn"] != bob.body["execution_arn"]


def test_offboarding_a_cluster_never_onboarded_is_404_and_writes_nothing(world):
    mark = world.calls.mark()
    for cluster in ("orders", "orders--db", "orders-"):
        response = as_source(world, "DELETE", f"/clusters/{SOURCE_ACCOUNT}/eu-west-1/{cluster}")
        assert response.status in (404, 422), (cluster, response.body)
        assert "cluster_id" in json.dumps(response.body) or "not in the registry" in response.body["message"]
    assert world.calls.summary(mark).get(ARCHIVE_ACCOUNT, {}).get("bookkeeping", 0) == 0
    assert world.registry_item("orders") is None and executions(world, "OffboardStateMachine") == []


@pytest.mark.parametrize(
    ("secret_arn", "named"),
    [
        (f"arn:aws:secretsmanager:eu-west-1:{OTHER_ACCOUNT}:secret:theirs-AbCdEf", f"account {OTHER_ACCOUNT}"),
        (f"arn:aws:secretsmanager:us-east-1:{SOURCE_ACCOUNT}:secret:mine-AbCdEf", "region us-east-1"),
    ],
)
def test_secret_outside_the_clusters_account_or_region_is_refused_naming_the_field(world, secret_arn, named):
    response = as_source(world, "POST", "/clusters", body=world.request("orders", secret_arn=secret_arn))
    assert response.status == 422, response.body
    assert "body.secret_arn" in response.body["message"] and named in response.body["message"]
    assert executions(world) == []


def test_page_tokens_are_refused_when_forged_changed_or_used_by_another_caller(world):
    world.create_cluster("inventory")
    for cluster in ("orders", "inventory"):
        world.wait(as_source(world, "POST", "/clusters", body=world.request(cluster)).body["execution_arn"])
    token = as_source(world, "GET", "/clusters", query={"limit": "1"}).body["next_token"]
    forged = base64.urlsafe_b64encode(json.dumps({"source_id": f"{OTHER_ACCOUNT}#eu-west-1#billing"}).encode())
    for caller, query in (
        (SOURCE_CALLER, {"next_token": "garbage"}),
        (SOURCE_CALLER, {"next_token": base64.urlsafe_b64encode(b"not json").decode()}),
        (SOURCE_CALLER, {"next_token": base64.urlsafe_b64encode(b"[1, 2]").decode()}),
        (SOURCE_CALLER, {"next_token": forged.decode()}),
        (SOURCE_CALLER, {"next_token": token[:-1] + ("A" if token[-1] != "A" else "B")}),
        (SOURCE_CALLER, {"next_token": token, "status": "active"}),  # another query
        (CAROL, {"next_token": token}),  # another principal of the same account
    ):
        response = world.api("GET", "/clusters", caller_account=SOURCE_ACCOUNT, caller_arn=caller, query=query)
        assert response.status == 400 and "next_token" in response.body["message"], (query, response.body)
    assert as_source(world, "GET", "/clusters", query={"limit": "1", "next_token": token}).status == 200


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/x-www-form-urlencoded", f"account_id={SOURCE_ACCOUNT}&region=eu-west-1&cluster_id=orders", 415),
        (
            "multipart/form-data; boundary=b",
            f'--b\r\nContent-Disposition: form-data; name="account_id"\r\n\r\n{SOURCE_ACCOUNT}\r\n--b--\r\n',
            415,
        ),
        ("text/plain", None, 415),
        ("Application/JSON", None, 202),
        ("application/json; charset=UTF-8", None, 202),
    ],
)
def test_only_json_bodies_are_read_whatever_the_case_of_the_media_type(world, content_type, body, status):
    body = body or json.dumps(world.request("orders"))
    response = as_source(world, "POST", "/clusters", body=body, headers={"Content-Type": content_type})
    assert response.status == status, response.body
    if status == 415:
        assert "application/json" in response.body["message"] and executions(world) == []


def test_unsigned_request_is_refused_before_its_body_is_read(world):
    event = rest_api_event("POST", "/clusters", "/clusters", {}, "[not json", None, None, SOURCE_ACCOUNT, SOURCE_CALLER)
    for identity in ({}, {"accountId": SOURCE_ACCOUNT}, {"userArn": SOURCE_CALLER}, {"accountId": None}):
        event["requestContext"]["identity"] = identity
        payload, errored = world.lambdas.call(world.resources["ApiFunction"], event)
        assert not errored and payload["statusCode"] == 403, payload
        assert "no signed AWS identity" in json.loads(payload["body"])["message"]
