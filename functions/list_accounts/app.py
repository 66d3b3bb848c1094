"""List Accounts: the organization's next ACTIVE member accounts to adopt (AWS Organizations ListAccounts)."""

from typing import Any

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.errors import InvalidRequestError
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import Model
from pgaudit_archiver.settings import OrganizationAdoptionSettings
from pgaudit_archiver.steps.organization_adoption import AccountsPage, Organization, accounts_at_once, next_accounts


class ListAccountsEvent(Model):
    # The execution's input on the first call; then the page the last call returned.
    organization: Organization | None = None
    page: AccountsPage | None = None


@workflow_handler(ListAccountsEvent, OrganizationAdoptionSettings, correlation_id_path="organization.adoption_id")
def lambda_handler(step: ListAccountsEvent, settings: OrganizationAdoptionSettings) -> AccountsPage | dict[str, Any]:
    archive = archive_account(settings)
    first = step.page is None
    if step.page is None:
        if step.organization is None:
            raise InvalidRequestError("neither an organization adoption nor a page",
                                      remedy="start it with POST /organization/adopt")  # fmt: skip
        archive.organization_adoptions.begin(step.organization.adoption_id)
        page = AccountsPage(
            organization=step.organization, concurrency=accounts_at_once(settings.account_executions_per_minute)
        )
    else:
        page = step.page
    return next_accounts(page, first, archive.organizations, archive.organization_adoptions)
