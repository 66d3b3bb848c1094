"""Adoption and the one-execution-per-database rule: concurrent adoptions, an onboarding that never started, and the
account's executions a minute. Each test deploys a world of its own (their clusters and limits differ)."""

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from local import SOURCE_ACCOUNT, World

OTHER_ACCOUNT = "444455556666"
ONBOARDED = {"active", "pending-reboot"}  # deferred reboot, the default


def onboarding_executions(world):
    machine = world.resources["OnboardStateMachine"]
    return world.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]


# ---------------------------------------------------------------------------------------------- one execution each
SIX = [f"shared-{index}" for index in range(6)]


def onboardings_by_cluster(world) -> Counter:
    executions = onboarding_executions(world)
    inputs = (world.client("stepfunctions").describe_execution(executionArn=e["executionArn"])["input"]
              for e in executions)  # fmt: skip
    return Counter(json.loads(text)["cluster_id"] for text in inputs)


@pytest.fixture
def six_clusters():
    with World() as world:
        for cluster_id in SIX:
            world.create_cluster(cluster_id)
        yield world


def test_three_concurrent_adoptions_of_six_clusters_start_one_onboarding_per_cluster(six_clusters):
    world = six_clusters

    def adopt(_: int):
        return world.api("POST", f"/accounts/{SOURCE_ACCOUNT}/adopt", caller_account=SOURCE_ACCOUNT,
                         body={"mode": "all"})  # fmt: skip

    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(adopt, range(3)))

    [started] = [answer for answer in answers if answer.status == 202]
    refused = [answer for answer in answers if answer.status != 202]
    assert [answer.status for answer in refused] == [409, 409]
    for answer in refused:  # each names the running adoption and where to follow it
        assert answer.body["adoption_id"] == started.body["adoption_id"]
        assert answer.body["status_path"] == started.body["status_path"]
        assert started.body["adoption_id"] in answer.body["message"]
    assert world.wait(started.body["execution_arn"], timeout=600).status == "SUCCEEDED"
    assert onboardings_by_cluster(world) == Counter(SIX)


def test_adoptions_started_side_by_side_outside_the_api_still_onboard_each_cluster_once(six_clusters):
    # Scheduled Discovery starts adoptions itself, beside the API's: the registry claim keeps them apart.
    world = six_clusters
    machine = world.resources["AdoptStateMachine"]
    payload = json.dumps({"account_id": SOURCE_ACCOUNT, "region": world.region, "mode": "all"})

    def start(index: int) -> str:
        return world.client("stepfunctions").start_execution(
            stateMachineArn=machine, name=f"side-by-side-{index}", input=payload
        )["executionArn"]

    with ThreadPoolExecutor(max_workers=3) as pool:
        arns = list(pool.map(start, range(3)))
    outputs = [world.wait(arn, timeout=600) for arn in arns]

    assert all(execution.status == "SUCCEEDED" for execution in outputs), [e.cause for e in outputs]
    assert onboardings_by_cluster(world) == Counter(SIX)
    assert sum(execution.output["totals"]["onboarded"] for execution in outputs) == len(SIX)
    assert all(world.registry_item(cluster_id)["status"] in ONBOARDED for cluster_id in SIX)


def test_an_onboarding_the_adoption_could_not_start_is_recorded_failed_not_left_claimed(six_clusters):
    world = six_clusters
    # Every start of the onboarding workflow fails (as it would with the workflow deleted, or access denied).
    world.client("stepfunctions").delete_state_machine(stateMachineArn=world.resources["OnboardStateMachine"])

    execution = world.adopt(mode="all")

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["totals"]["failed"] == len(SIX)
    for cluster_id in SIX:
        item = world.registry_item(cluster_id)
        # Not left "onboarding" under an execution that never existed: POST /clusters and the next adoption would
        # skip it as running.
        assert item["status"] == "failed"
        assert item["last_error"]["step"] == "Onboard Cluster"
        assert "never started" in item["last_error"]["message"]


def test_an_account_past_its_executions_a_minute_is_answered_429_with_retry_after_and_others_are_not():
    limit = 2
    # The emulation's clock at the real pace: a minute is a minute, as Retry-After counts it.
    with World(source_accounts=(SOURCE_ACCOUNT, OTHER_ACCOUNT), retry_sleep_scale=1.0,
               parameters={"AccountExecutionsPerMinute": limit}) as world:  # fmt: skip
        for _ in range(3):  # a run that straddles a minute's edge starts again
            minute = world.clock.time() // 60
            answers = [world.api("POST", f"/accounts/{SOURCE_ACCOUNT}/adopt", caller_account=SOURCE_ACCOUNT,
                                 body={"dry_run": True}) for _ in range(limit + 1)]  # fmt: skip
            other = world.api("POST", f"/accounts/{OTHER_ACCOUNT}/adopt", caller_account=OTHER_ACCOUNT,
                              body={"dry_run": True})  # fmt: skip
            if world.clock.time() // 60 == minute:
                break

        assert [answer.status for answer in answers] == [202] * limit + [429]
        refused = answers[-1]
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= 60
        assert refused.body["retry_after_seconds"] == retry_after
        assert "AccountExecutionsPerMinute" in refused.body["message"]
        assert other.status == 202  # one account's spent minute is not another's
