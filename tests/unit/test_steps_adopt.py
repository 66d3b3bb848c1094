"""Claim Cluster, Release Claim and the tally against in-memory fakes: an adoption onboards a cluster only under a
claim of its own, and a claim whose onboarding never started does not block the cluster."""

from typing import Any

import pytest

from pgaudit_archiver.errors import ThrottledError
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.steps.adopt import (
    AdoptionPage,
    claim_cluster,
    onboarding_execution_arn,
    release_claim,
    tally,
)
from tests.unit.fakes import ACCOUNT, ARCHIVE_ACCOUNT, REGION, SOURCE, FakeRegistry, FakeStepFunctions

ONBOARD = f"arn:aws:states:{REGION}:{ARCHIVE_ACCOUNT}:stateMachine:pgaudit-archiver-onboard"
ADOPT = f"arn:aws:states:{REGION}:{ARCHIVE_ACCOUNT}:stateMachine:pgaudit-archiver-adopt"
REQUEST = {"account_id": ACCOUNT, "region": REGION, "cluster_id": "orders"}


class FakeLimits:
    """The account's executions a minute: `left` more, then the minute is spent."""

    executions_per_minute = 20

    def __init__(self, left: int = 20) -> None:
        self.left = left
        self.taken: list[str] = []

    def take_start(self, account_id: str) -> int | None:
        if self.left <= 0:
            return 17
        self.left -= 1
        self.taken.append(account_id)
        return None


def running_adoption(stepfunctions: FakeStepFunctions) -> str:
    return stepfunctions.start(ADOPT, "adopt-111122223333-eu-west-1-0badc0de", {})


def test_claim_cluster_claims_the_source_for_the_execution_name_it_returns():
    registry, stepfunctions = FakeRegistry(), FakeStepFunctions()
    adoption = running_adoption(stepfunctions)

    claim = claim_cluster(REQUEST, adoption, ONBOARD, registry, FakeLimits())

    assert claim.claimed and claim.execution_name
    item = registry.get(SOURCE)
    assert item["status"] == "onboarding"
    assert item["execution_arn"] == onboarding_execution_arn(ONBOARD, claim.execution_name)
    assert item["claimed_by"] == adoption


def test_claim_cluster_skips_a_source_another_request_claimed_after_the_adoption_planned_it():
    registry, stepfunctions = FakeRegistry(), FakeStepFunctions()
    registry.claim(SOURCE, "onboard", REQUEST)
    registry.record_execution(SOURCE, "onboard", "arn:other-execution", "url", REQUEST)

    claim = claim_cluster(REQUEST, running_adoption(stepfunctions), ONBOARD, registry, FakeLimits())

    assert not claim.claimed and claim.execution_name is None
    assert claim.reason is not None and "already onboarding" in claim.reason
    assert registry.get(SOURCE)["execution_arn"] == "arn:other-execution"  # the other's claim stands


def test_claim_cluster_waits_when_the_account_has_spent_its_minute_and_claims_nothing():
    registry, stepfunctions = FakeRegistry(), FakeStepFunctions()

    with pytest.raises(ThrottledError, match="AccountExecutionsPerMinute"):
        claim_cluster(REQUEST, running_adoption(stepfunctions), ONBOARD, registry, FakeLimits(left=0))

    assert registry.get(SOURCE) is None


def claimed(registry: FakeRegistry, stepfunctions: FakeStepFunctions) -> str:
    return str(claim_cluster(REQUEST, running_adoption(stepfunctions), ONBOARD, registry, FakeLimits()).execution_name)


FAILURE: dict[str, Any] = {"Error": "StepFunctions.AccessDeniedException", "Cause": "not authorized"}


def test_release_claim_records_an_onboarding_that_never_started_as_failed_naming_why():
    registry, stepfunctions = FakeRegistry(), FakeStepFunctions()
    name = claimed(registry, stepfunctions)

    assert release_claim(REQUEST, name, FAILURE, ONBOARD, registry, stepfunctions)

    item = registry.get(SOURCE)
    assert item["status"] == "failed"
    assert item["last_error"]["step"] == "Onboard Cluster"
    assert item["last_error"]["error"] == "StepFunctions.AccessDeniedException"
    assert "never started" in item["last_error"]["message"] and "not authorized" in item["last_error"]["message"]


def test_release_claim_leaves_an_onboarding_that_runs_to_record_its_own_end():
    registry, stepfunctions = FakeRegistry(), FakeStepFunctions()
    name = claimed(registry, stepfunctions)
    stepfunctions.start(ONBOARD, name, REQUEST)  # started after all (the sync wait failed, not the start)

    assert not release_claim(REQUEST, name, FAILURE, ONBOARD, registry, stepfunctions)
    assert registry.get(SOURCE)["status"] == "onboarding"


def test_release_claim_keeps_what_the_onboarding_recorded_of_its_own_failure():
    registry, stepfunctions = FakeRegistry(), FakeStepFunctions()
    name = claimed(registry, stepfunctions)
    arn = stepfunctions.start(ONBOARD, name, REQUEST)
    stepfunctions.executions[arn]["status"] = "FAILED"
    recorded = {"step": "Validate Request", "error": "ClusterNotEligibleError", "message": "cluster is stopped"}
    registry.finish(SOURCE, "failed", {"last_error": recorded})  # Record Failure

    assert not release_claim(REQUEST, name, FAILURE, ONBOARD, registry, stepfunctions)
    assert registry.get(SOURCE)["last_error"] == recorded


def test_post_clusters_does_not_start_a_second_onboarding_of_a_source_a_running_adoption_claimed():
    # Between Claim Cluster and Onboard Cluster the claimed execution does not exist yet: it is not stale.
    registry, stepfunctions = FakeRegistry(), FakeStepFunctions()
    claimed(registry, stepfunctions)
    service = ClusterService(registry, stepfunctions, ONBOARD, "", ())

    started = service.start("onboard", SOURCE, REQUEST)

    assert started.already_running and started.execution_arn is None
    assert not [arn for arn in stepfunctions.executions if ":pgaudit-archiver-onboard:" in arn]


def test_post_clusters_takes_over_a_claim_whose_adoption_ended_before_starting_its_onboarding():
    registry, stepfunctions = FakeRegistry(), FakeStepFunctions()
    claimed(registry, stepfunctions)
    adoption = registry.get(SOURCE)["claimed_by"]
    stepfunctions.executions[adoption]["status"] = "ABORTED"
    service = ClusterService(registry, stepfunctions, ONBOARD, "", ())

    started = service.start("onboard", SOURCE, REQUEST)

    assert not started.already_running and started.execution_arn in stepfunctions.executions
    assert registry.get(SOURCE)["execution_arn"] == started.execution_arn


def test_tally_counts_a_cluster_claimed_by_another_execution_as_skipped_with_its_reason():
    page = AdoptionPage(account_id=ACCOUNT, region=REGION, mode="all")
    page = page.model_copy(update={"totals": page.totals.model_copy(update={"clusters": 2, "planned": 2})})
    results = [
        {"cluster_id": "orders", "status": "SUCCEEDED"},
        {"cluster_id": "billing", "status": "SKIPPED", "reason": "already onboarding (started by another request)"},
    ]

    counted = tally(page, results)

    assert counted.totals.model_dump() == {
        "clusters": 2, "instances": 0, "planned": 1, "onboarded": 1, "failed": 0, "skipped": 1
    }  # fmt: skip
    assert [(s.cluster_id, s.reason) for s in counted.skipped] == [("billing", results[1]["reason"])]
    assert counted.failures == []


def test_claim_cluster_retried_after_a_lost_answer_claims_again_instead_of_skipping_its_own_claim():
    registry, stepfunctions = FakeRegistry(), FakeStepFunctions()
    adoption = running_adoption(stepfunctions)
    claim_cluster(REQUEST, adoption, ONBOARD, registry, FakeLimits())  # its answer never reached the workflow

    again = claim_cluster(REQUEST, adoption, ONBOARD, registry, FakeLimits())

    assert again.claimed
    assert registry.get(SOURCE)["execution_arn"] == onboarding_execution_arn(ONBOARD, str(again.execution_name))
