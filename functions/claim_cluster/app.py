"""Claim Cluster (and its undo, Release Claim): an adoption's cluster claimed in the registry before its onboarding
starts, as POST /clusters claims it; a claim whose onboarding never started recorded as failed."""

from typing import Any

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import Model
from pgaudit_archiver.settings import ClaimClusterSettings
from pgaudit_archiver.steps.adopt import Claim, claim_cluster, release_claim


class ClaimEvent(Model):
    request: dict[str, Any]  # the onboarding request Discover Clusters made
    adoption_arn: str  # $$.Execution.Id of the adoption
    # Release Claim only: the name Claim Cluster chose, and Onboard Cluster's Error and Cause.
    execution_name: str | None = None
    failure: dict[str, Any] | None = None


@workflow_handler(ClaimEvent, ClaimClusterSettings)
def lambda_handler(step: ClaimEvent, settings: ClaimClusterSettings) -> Claim | dict[str, Any]:
    archive = archive_account(settings)
    if step.execution_name is None:
        return claim_cluster(
            step.request, step.adoption_arn, settings.onboard_state_machine_arn, archive.registry,
            archive.account_limits,
        )  # fmt: skip
    recorded = release_claim(
        step.request, step.execution_name, step.failure or {}, settings.onboard_state_machine_arn, archive.registry,
        archive.stepfunctions,
    )  # fmt: skip
    return {"recorded": recorded}
