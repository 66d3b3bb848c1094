"""The API's /instances routes for RDS for PostgreSQL DB instances: the same authorization, consent, idempotency and
errors as /clusters, and a DB instance never mistaken for a DB cluster of the same name."""

import json

import pytest

from local import SOURCE_ACCOUNT, World

OTHER_ACCOUNT = "444455556666"
SOURCE_CALLER = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/team-deployer/bob"
OTHER_CALLER = f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/team-deployer/eve"
INSTANCE_PATH = f"/instances/{SOURCE_ACCOUNT}/eu-west-1/shopdb"


def create_instance(world, instance_id, *, consent=True):
    tags = [{"Key": "pgaudit-archiver", "Value": "enabled"}] if consent else []
    world.client("rds", SOURCE_ACCOUNT).create_db_instance(
        DBInstanceIdentifier=instance_id, Engine="postgres", EngineVersion="16.4", DBInstanceClass="db.t4g.micro",
        MasterUsername="owner", MasterUserPassword="owner-password-1", AllocatedStorage=20, Tags=tags,
    )  # fmt: skip
    world.client("logs", SOURCE_ACCOUNT).create_log_group(
        logGroupName=f"/aws/rds/instance/{instance_id}/postgresql", tags={"pgaudit-archiver": "enabled"}
    )


@pytest.fixture(scope="module")
def world():
    parameters = {"AllowedAccountIds": f"{SOURCE_ACCOUNT},{OTHER_ACCOUNT}"}
    with World(source_accounts=(SOURCE_ACCOUNT, OTHER_ACCOUNT), parameters=parameters) as emulated:
        create_instance(emulated, "shopdb")
        create_instance(emulated, "hrdb", consent=False)
        create_instance(emulated, "salesdb")
        yield emulated


def body(instance_id):
    return {"account_id": SOURCE_ACCOUNT, "region": "eu-west-1", "instance_id": instance_id}


def as_source(world, method, path, **options):
    return world.api(method, path, caller_account=SOURCE_ACCOUNT, caller_arn=SOURCE_CALLER, **options)


def test_another_account_gets_403_on_every_instance_route_and_nothing_starts(world):
    for method, path, request in (("POST", "/instances", body("shopdb")), ("GET", INSTANCE_PATH, None),
                                  ("DELETE", INSTANCE_PATH, None),
                                  ("POST", INSTANCE_PATH + "/verify", None)):  # fmt: skip
        response = world.api(method, path, caller_account=OTHER_ACCOUNT, caller_arn=OTHER_CALLER, body=request)
        assert response.status == 403, (method, path, response.body)
    machine = world.resources["OnboardStateMachine"]
    assert world.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"] == []


def test_an_unconsented_instance_is_409_with_the_owners_commands(world):
    response = as_source(world, "POST", "/instances", body=body("hrdb"))
    assert response.status == 409, response.body
    assert any(":db:hrdb --tags Key=pgaudit-archiver" in command for command in response.body["grant"])


def test_instance_id_is_refused_by_clusters_and_cluster_id_by_instances(world):
    refused = as_source(world, "POST", "/clusters", body=body("shopdb"))
    assert (refused.status, "body.instance_id" in refused.body["message"]) == (422, True)
    cluster_body = {"account_id": SOURCE_ACCOUNT, "region": "eu-west-1", "cluster_id": "shopdb"}
    refused = as_source(world, "POST", "/instances", body=cluster_body)
    assert (refused.status, "body.cluster_id" in refused.body["message"]) == (422, True)


def test_a_source_account_onboards_its_instance_once_per_idempotency_key(world):
    headers = {"Idempotency-Key": "8d1b0c5e-instance"}
    first = as_source(world, "POST", "/instances", body=body("shopdb"), headers=headers)
    again = as_source(world, "POST", "/instances", body=body("shopdb"), headers=headers)

    assert first.status == again.status == 202, first.body
    assert first.body["status_path"] == INSTANCE_PATH
    assert again.body["execution_arn"] == first.body["execution_arn"]
    item = as_source(world, "GET", INSTANCE_PATH).body
    assert (item["kind"], item["source_id"]) == ("db-instance", f"{SOURCE_ACCOUNT}#eu-west-1#instance--shopdb")
    # No DB cluster of that name was onboarded: its own namespace.
    assert as_source(world, "GET", f"/clusters/{SOURCE_ACCOUNT}/eu-west-1/shopdb").status == 404


def test_the_owner_verifies_its_instance_and_another_account_may_not(world):
    path = f"/instances/{SOURCE_ACCOUNT}/eu-west-1/salesdb"
    onboarded = as_source(world, "POST", "/instances", body=body("salesdb"))
    assert world.wait(onboarded.body["execution_arn"]).status == "SUCCEEDED"

    response = as_source(world, "POST", path + "/verify")

    assert response.status == 202, response.body
    assert (response.body["operation"], response.body["status_path"]) == ("verify", path)
    assert world.wait(response.body["execution_arn"]).output["checked"] == 1
    assert as_source(world, "GET", path).body["last_verification"]["drift"] == []
    denied = world.api("POST", path + "/verify", caller_account=OTHER_ACCOUNT, caller_arn=OTHER_CALLER)
    assert denied.status == 403, denied.body


def test_verifying_an_instance_never_onboarded_is_404_naming_post_instances(world):
    # hrdb exists but was never onboarded; a DB cluster's name is no DB instance's either.
    response = as_source(world, "POST", f"/instances/{SOURCE_ACCOUNT}/eu-west-1/hrdb/verify")
    assert response.status == 404, response.body
    assert "POST /instances" in json.dumps(response.body)


def test_the_emulation_names_an_instances_onboarding_as_the_api_does(world):
    create_instance(world, "namedb")
    started = world.start_onboarding(body("namedb"))
    refused = world.start_onboarding({"account_id": "12", "region": "eu-west-1", "instance_id": "namedb"})

    assert started.rpartition(":")[2].startswith(f"{SOURCE_ACCOUNT}-instance--namedb-")  # execution_name of the API
    assert refused.rpartition(":")[2].startswith("invalid-request-")
    assert (world.wait(started).status, world.wait(refused).status) == ("SUCCEEDED", "FAILED")
