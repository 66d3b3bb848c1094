"""Adoption: an account's existing databases (DB clusters of either kind, standalone DB instances) onboarded by the
rules of automatic onboarding, resumable, authorized."""

import json

import pytest

from local import SOURCE_ACCOUNT, World

OTHER_ACCOUNT = "444455556666"
ONBOARDED = {"active", "pending-reboot"}  # deferred reboot, the default


@pytest.fixture(scope="module")
def world():
    with World(source_accounts=(SOURCE_ACCOUNT, OTHER_ACCOUNT)) as world:
        world.create_cluster("tagged-a", tags={"pgaudit-archiver": "enabled"})
        world.create_cluster("tagged-b", tags={"pgaudit-archiver": "enabled"})
        world.create_cluster("untagged", consent=False)
        world.create_cluster("opted-out", tags={"pgaudit-archiver": "disabled"})
        world.create_cluster("mysql", engine="aurora-mysql", engine_version="8.0")
        world.create_cluster("elsewhere", account=OTHER_ACCOUNT, tags={"pgaudit-archiver": "enabled"})
        # A Multi-AZ DB cluster, whose three DB instances (engine postgres too) are its own, not sources to adopt.
        world.create_multi_az_cluster("maz-tagged", database_user=False)
        world.create_instance("inst-tagged", database_user=False)
        world.create_instance("inst-untagged", database_user=False, consent=False)
        yield world


def onboarding_executions(world):
    machine = world.resources["OnboardStateMachine"]
    return world.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]


def test_a_dry_run_lists_what_it_would_onboard_and_why_it_skips_the_rest_and_starts_nothing(world):
    before = len(onboarding_executions(world))

    execution = world.adopt(dry_run=True)

    assert execution.status == "SUCCEEDED", execution.cause
    plan = execution.output
    assert plan["dry_run"] is True and plan["mode"] == "tagged"  # the deployment's AutoOnboard
    # Each named by its source key: a DB instance's is instance--<id>.
    assert sorted(plan["planned"]) == ["instance--inst-tagged", "maz-tagged", "tagged-a", "tagged-b"]
    assert {s["cluster_id"]: s["reason"] for s in plan["skipped"]} == {
        "untagged": "the owner has not consented: not tagged pgaudit-archiver=enabled",
        "opted-out": "tagged pgaudit-archiver=disabled",
        "instance--inst-untagged": "the owner has not consented: not tagged pgaudit-archiver=enabled",
    }  # the MySQL cluster is not listed at all: DescribeDBClusters is filtered on aurora-postgresql and postgres
    assert plan["totals"] == {"clusters": 5, "instances": 2, "planned": 4, "onboarded": 0, "failed": 0, "skipped": 3}
    assert len(onboarding_executions(world)) == before


def test_adoption_onboards_the_planned_clusters_and_a_rerun_onboards_nothing_more(world):
    execution = world.adopt()

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["totals"] == {
        "clusters": 5, "instances": 2, "planned": 4, "onboarded": 4, "failed": 0, "skipped": 3
    }  # fmt: skip
    for key in ("tagged-a", "tagged-b", "maz-tagged", "instance--inst-tagged"):
        assert world.registry_item(key)["status"] in ONBOARDED, key
    assert world.registry_item("untagged") is None
    assert world.registry_item("instance--inst-untagged") is None
    # The instance's onboarding was started by instance_id, as POST /instances starts one.
    sfn = world.client("stepfunctions")
    inputs = [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
              for e in onboarding_executions(world)]  # fmt: skip
    assert [i for i in inputs if "instance_id" in i] == [
        {"account_id": SOURCE_ACCOUNT, "region": world.region, "instance_id": "inst-tagged"}
    ]
    started = len(onboarding_executions(world))

    again = world.adopt()

    assert again.output["totals"] == {
        "clusters": 5, "instances": 2, "planned": 0, "onboarded": 0, "failed": 0, "skipped": 7
    }  # fmt: skip
    assert len(onboarding_executions(world)) == started


def test_mode_all_adopts_no_cluster_whose_owner_has_not_consented(world):
    execution = world.adopt(mode="all", dry_run=True)

    assert execution.status == "SUCCEEDED", execution.cause
    assert {s["cluster_id"]: s["reason"] for s in execution.output["skipped"]} == {
        "untagged": "the owner has not consented: not tagged pgaudit-archiver=enabled",
        "opted-out": "tagged pgaudit-archiver=disabled",
        "tagged-a": "already pending-reboot",
        "tagged-b": "already pending-reboot",
        "maz-tagged": "already pending-reboot",
        "instance--inst-tagged": "already pending-reboot",
        "instance--inst-untagged": "the owner has not consented: not tagged pgaudit-archiver=enabled",
    }
    assert world.registry_item("untagged") is None and world.registry_item("opted-out") is None


def test_an_account_adopts_only_its_own_clusters(world):
    answer = world.api("POST", f"/accounts/{OTHER_ACCOUNT}/adopt", caller_account=SOURCE_ACCOUNT, body={})

    assert answer.status == 403
    assert "may act only on its own clusters" in answer.body["message"]
    assert world.registry_item("elsewhere", account=OTHER_ACCOUNT) is None


def test_an_unknown_field_or_mode_is_refused_before_anything_starts(world):
    for body in ({"mode": "everything"}, {"dry-run": True}, {"region": "us-east-1"}):
        answer = world.api("POST", f"/accounts/{SOURCE_ACCOUNT}/adopt", caller_account=SOURCE_ACCOUNT, body=body)
        assert answer.status in (400, 422), (body, answer.body)


def test_an_account_reads_only_its_own_adoptions(world):
    started = world.api("POST", f"/accounts/{SOURCE_ACCOUNT}/adopt", caller_account=SOURCE_ACCOUNT,
                        body={"dry_run": True})  # fmt: skip
    path = started.body["status_path"]
    world.wait(started.body["execution_arn"])

    assert world.api("GET", path, caller_account=SOURCE_ACCOUNT).status == 200
    other = path.replace(SOURCE_ACCOUNT, OTHER_ACCOUNT)
    assert world.api("GET", other, caller_account=OTHER_ACCOUNT).status == 404  # not its name: not its adoption
    assert world.api("GET", path, caller_account=OTHER_ACCOUNT).status == 403


# ---------------------------------------------------------------------------------------------- the request
def test_a_retry_with_the_same_idempotency_key_answers_the_same_adoption_to_its_principal_only(world):
    alice = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/platform/alice"
    bob = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/platform/bob"
    key = {"Idempotency-Key": "adopt-7f9c"}
    path = f"/accounts/{SOURCE_ACCOUNT}/adopt"

    def adopt(caller: str, body: dict):
        return world.api("POST", path, caller_account=SOURCE_ACCOUNT, caller_arn=caller, body=body, headers=key)

    first = adopt(alice, {"dry_run": True})
    again = adopt(alice, {"dry_run": True})
    other = adopt(bob, {"dry_run": True})
    changed = adopt(alice, {})

    assert (first.status, again.status, other.status) == (202, 202, 202)
    assert again.body["adoption_id"] == first.body["adoption_id"]
    assert other.body["adoption_id"] != first.body["adoption_id"]  # another principal's key is another key
    assert changed.status == 422 and "different body" in changed.body["message"]
    for answer in (first, other):
        world.wait(answer.body["execution_arn"])


def test_an_empty_region_is_refused_naming_the_field_not_read_as_this_stacks(world):
    answer = world.api("POST", f"/accounts/{SOURCE_ACCOUNT}/adopt", caller_account=SOURCE_ACCOUNT,
                       body={"region": "", "dry_run": True})  # fmt: skip

    assert answer.status == 422
    assert "body.region" in answer.body["message"]
