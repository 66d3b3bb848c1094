"""AWS Organizations, read from the archive account: which member accounts an organization-wide adoption covers.

"You can only call this operation from the management account or a member account that is a delegated
administrator." (ListAccounts, Organizations API reference). The archive account deploys the source stack as a
service-managed StackSet (docs/deploy.md), for which it is registered as a delegated administrator of
CloudFormation StackSets: that registration alone lets it call ListAccounts with its own role, so no role in the
management account is needed.
"""

from __future__ import annotations

import boto3

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG
from pgaudit_archiver.errors import AwsRequestError

PAGE_SIZE = 20  # ListAccounts' MaxResults: 1 to 20 (API reference)
# The account lifecycle's State (Status is retired in September 2026, API reference): only ACTIVE accounts can hold
# a source role; SUSPENDED, PENDING_CLOSURE and CLOSED ones cannot be reached.
ACTIVE = "ACTIVE"
NOT_AN_ADMINISTRATOR = ("AccessDeniedException", "AWSOrganizationsNotInUseException")


class ArchiveOrganizations:
    def __init__(self, session: boto3.Session) -> None:
        self._organizations = guarded(session.client("organizations", config=CLIENT_CONFIG))

    def active_accounts(self, next_token: str | None) -> tuple[list[str], str | None]:
        """One page of the organization's ACTIVE accounts and the token of the next (None after the last). A page
        may be empty while more follow: the API reference says to read on until NextToken is null."""
        options = {"MaxResults": PAGE_SIZE, **({"NextToken": next_token} if next_token else {})}
        with refused(*NOT_AN_ADMINISTRATOR) as refusal:
            page = self._organizations.list_accounts(**options)
            accounts = [
                str(account["Id"])
                for account in page.get("Accounts", [])
                if account.get("State", account.get("Status")) == ACTIVE
            ]
            return accounts, page.get("NextToken") or None
        raise AwsRequestError(
            "ListAccounts was refused: this account is neither the organization's management account nor a "
            "delegated administrator",
            aws_error_code=refusal.code,
            remedy="from the management account, run aws organizations register-delegated-administrator "
            "--service-principal member.org.stacksets.cloudformation.amazonaws.com --account-id <archive account> "
            "(docs/deploy.md), or deploy the archive stack in the management account",
        )
