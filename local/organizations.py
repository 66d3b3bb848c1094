"""AWS Organizations in the emulation: an organization whose management account is not the archive account, the
world's accounts as its members, and the archive account registered as a delegated administrator of CloudFormation
StackSets (docs/deploy.md), as a real deployment has it.

moto answers ListAccounts only in the management account: a member's call finds no organization. AWS answers it in
the management account and "a member account that is a delegated administrator" (ListAccounts, API reference), and
refuses other members with AccessDeniedException: `aws_list_accounts` makes moto answer the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from unittest import mock

from moto.organizations import utils as organization_utils
from moto.organizations.exceptions import AWSOrganizationsNotInUseException, OrganizationsClientError
from moto.organizations.models import FakeDelegatedAdministrator, OrganizationsBackend, organizations_backends

MANAGEMENT_ACCOUNT = "999988887777"
STACKSETS_SERVICE_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"


def aws_list_accounts(original: Callable[..., Any]) -> Callable[..., Any]:
    def list_accounts(backend: OrganizationsBackend, **kwargs: Any) -> Any:
        if backend.org is not None:
            return original(backend, **kwargs)
        owner = organizations_backends.master_accounts.get(backend.account_id)
        if owner is None:
            raise AWSOrganizationsNotInUseException()
        management = organizations_backends[owner[0]][owner[1]]
        if not any(admin.account.id == backend.account_id for admin in management.admins):
            raise OrganizationsClientError(
                "AccessDeniedException", "You don't have permissions to access this resource."
            )
        return original(management, **kwargs)

    return list_accounts


def create_organization(client_in: Callable[[str], Any], members: Iterable[str], delegated_administrator: str) -> str:
    """The organization, created by MANAGEMENT_ACCOUNT, with `members` (and the delegated administrator) in it under
    their own ids; its id."""
    organizations = client_in(MANAGEMENT_ACCOUNT)
    organization_id = str(organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"])
    for account in dict.fromkeys([*members, delegated_administrator]):
        # moto draws a member's id at random; AWS's ids are the accounts' own.
        with mock.patch.object(organization_utils, "make_random_account_id", return_value=account):
            organizations.create_account(AccountName=f"member-{account}", Email=f"aws+{account}@example.com")
    services = [*FakeDelegatedAdministrator.SUPPORTED_SERVICES, STACKSETS_SERVICE_PRINCIPAL]
    with mock.patch.object(FakeDelegatedAdministrator, "SUPPORTED_SERVICES", services):
        organizations.register_delegated_administrator(
            AccountId=delegated_administrator, ServicePrincipal=STACKSETS_SERVICE_PRINCIPAL
        )
    return organization_id
