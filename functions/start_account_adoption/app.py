"""Start Account Adoption (and Record Account Adoption): one member account's adoption under the organization's,
counted against the account's executions a minute and held as the account's one running adoption; then its end
counted in the organization adoption's progress."""

from typing import Any

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import AccountId, Model
from pgaudit_archiver.settings import OrganizationAdoptionSettings
from pgaudit_archiver.steps.organization_adoption import (
    AccountStart,
    Organization,
    account_outcome,
    start_account_adoption,
)


class AccountAdoptionEvent(Model):
    account_id: AccountId
    organization: Organization
    # Record Account Adoption only: {"status": SUCCEEDED|SKIPPED, "reason"} or a caught {"Error", "Cause"}.
    result: dict[str, Any] | None = None


@workflow_handler(AccountAdoptionEvent, OrganizationAdoptionSettings, correlation_id_path="account_id")
def lambda_handler(step: AccountAdoptionEvent, settings: OrganizationAdoptionSettings) -> AccountStart | dict[str, Any]:
    archive = archive_account(settings)
    if step.result is None:
        return start_account_adoption(
            step.account_id, step.organization, settings.adopt_state_machine_arn, archive.account_limits,
            archive.stepfunctions, archive.organization_adoptions,
        )  # fmt: skip
    outcome, reason = account_outcome(step.result)
    archive.organization_adoptions.finish(step.organization.adoption_id, step.account_id, outcome, reason)
    return {"account_id": step.account_id, "outcome": outcome, "reason": reason}
