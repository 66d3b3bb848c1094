"""Organization-wide adoption: every ACTIVE member account of the AWS Organization adopted, one account's adoption
(the adopt workflow, as POST /accounts/{id}/adopt starts it) per Map iteration, a few accounts at a time.

Pacing. Each account's adoption is one of its AccountExecutionsPerMinute starts, and its onboardings are counted
there too; the accounts adopted at once are as many as the archive's Firehose budget has room for at that rate
(ONBOARDINGS_PER_MINUTE // AccountExecutionsPerMinute, at least 1): with the default 20, three accounts at once.
The onboardings' own Firehose calls still take their windows of the shared rate budget (aws/rate_budget.py).

Resuming. Adoption is idempotent per account (a cluster onboarded, onboarding or offboarding is skipped), so a
second organization adoption adopts every account again and starts onboardings only for what is missing: an
account fully adopted costs one AssumeRole, one DescribeDBClusters page and one short execution.

An account whose own adoption runs (POST /accounts/{id}/adopt, a scheduled discovery) is skipped and says so; an
account whose adoption fails (no source role, say) is counted with the reason and the rest go on.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from pgaudit_archiver.aws.account_limits import AccountLimits
from pgaudit_archiver.aws.organization_adoptions import OrganizationAdoptions
from pgaudit_archiver.aws.organizations import ArchiveOrganizations
from pgaudit_archiver.aws.stepfunctions import ArchiveStepFunctions
from pgaudit_archiver.errors import ThrottledError
from pgaudit_archiver.models import Model

# The rate budget's 4 Firehose calls a second (aws/rate_budget.py) at about 4 calls per onboarding.
ONBOARDINGS_PER_MINUTE = 60
MAX_ACCOUNTS_AT_ONCE = 40  # an inline Map runs at most 40 iterations at once (Step Functions quotas)
EMPTY_PAGES_READ = 5  # ListAccounts may answer an empty page with a NextToken: read on, a bounded number of times
# An account adoption whose execution does not exist this long after its hold was taken was never started (the
# function that took the hold has ended: template.yaml, Timeout at most 120 s).
START_GRACE_SECONDS = 120
ORGANIZATION_HOLD = "organization"  # the hold key of organization adoptions (never a 12-digit account id)


def accounts_at_once(executions_per_minute: int) -> int:
    return max(1, min(MAX_ACCOUNTS_AT_ONCE, ONBOARDINGS_PER_MINUTE // executions_per_minute))


def organization_adoption_id(region: str, unique: str, dry_run: bool) -> str:
    return f"adopt-organization-{region}-{'dry-run-' if dry_run else ''}{unique}"


class Organization(Model):
    """What every account's adoption is asked: the organization adoption's id and the adopt request."""

    adoption_id: str
    region: str
    mode: Literal["all", "tagged"] | None = None
    dry_run: bool = False


def account_adoption_name(account_id: str, organization: Organization) -> str:
    """The account's adoption under the organization's: the name POST /accounts/{id}/adopt gives, so the account's
    owner reads it at /accounts/{id}/adoptions/{name}; unique per account and organization adoption."""
    unique = organization.adoption_id.rsplit("-", 1)[-1]
    return f"adopt-{account_id}-{organization.region}-{'dry-run-' if organization.dry_run else ''}{unique}"


class AccountsPage(Model):
    """List Accounts' answer: the next accounts to adopt, never more than one ListAccounts page of them."""

    organization: Organization
    concurrency: int = Field(ge=1, le=MAX_ACCOUNTS_AT_ONCE)
    next_token: str | None = None
    done: bool = False
    accounts: list[str] = Field(default_factory=list)


def next_accounts(
    page: AccountsPage, first: bool, organizations: ArchiveOrganizations, progress: OrganizationAdoptions
) -> AccountsPage:
    if page.done or (not first and page.next_token is None):
        return page.model_copy(update={"accounts": [], "done": True})
    token = page.next_token
    for _ in range(EMPTY_PAGES_READ):
        accounts, token = organizations.active_accounts(token)
        if accounts or token is None:
            break
    if accounts:
        progress.count(page.organization.adoption_id, "listed", len(accounts))
    return page.model_copy(update={"accounts": accounts, "next_token": token, "done": not accounts and token is None})


def hold_adoption(
    limits: AccountLimits, stepfunctions: ArchiveStepFunctions, holder: str, region: str, name: str, arn: str
) -> dict[str, Any] | None:
    """Make `arn` the holder's adoption in `region`; None when it is, else the adoption that runs (adoption_id,
    execution_arn): one at a time, and an ended one (or one never started) is taken over."""
    over: str | None = None
    for _ in range(3):  # each round another caller won; the third time it is running, not ending
        if limits.hold_adoption(holder, region, name, arn, over):
            return None
        current = limits.adoption(holder, region)
        if current is None:
            over = None  # given back meanwhile
            continue
        status = stepfunctions.status(current["execution_arn"])
        if status == "RUNNING" or (status is None and current["held_seconds"] < START_GRACE_SECONDS):
            return current
        over = current["execution_arn"]
    return limits.adoption(holder, region) or {"adoption_id": "unknown", "execution_arn": ""}


class AccountStart(Model):
    """Start Account Adoption's answer: the name the account's adoption starts under, or why it does not."""

    started: bool
    adoption_name: str | None = None
    reason: str | None = None


def start_account_adoption(
    account_id: str,
    organization: Organization,
    adopt_state_machine: str,
    limits: AccountLimits,
    stepfunctions: ArchiveStepFunctions,
    progress: OrganizationAdoptions,
) -> AccountStart:
    """Count the start against the account's executions a minute (ThrottledError, retried, once they are spent) and
    hold the account's adoption for the name returned; skipped when another adoption of the account runs."""
    name = account_adoption_name(account_id, organization)
    if not organization.dry_run:  # as POST /accounts/{id}/adopt: a dry run waits for no running adoption
        arn = adopt_state_machine.replace(":stateMachine:", ":execution:") + f":{name}"
        # Retried after ThrottledError, this finds its own hold (not started yet, within the grace) and goes on.
        running = hold_adoption(limits, stepfunctions, account_id, organization.region, name, arn)
        if running is not None and running["execution_arn"] != arn:
            return AccountStart(started=False, reason=f"adoption {running['adoption_id']} of the account runs")
    retry_after = limits.take_start(account_id)
    if retry_after is not None:
        raise ThrottledError(
            f"account {account_id} has started its {limits.executions_per_minute} executions of this minute "
            f"(AccountExecutionsPerMinute); its adoption waits {retry_after} s",
            remedy="none: the organization adoption retries; raise AccountExecutionsPerMinute to adopt faster",
        )
    progress.count(organization.adoption_id, "started")
    return AccountStart(started=True, adoption_name=name)


def account_outcome(result: dict[str, Any]) -> tuple[Literal["succeeded", "failed", "skipped"], str | None]:
    """The account's end from what the Map iteration carries: {"status": SUCCEEDED|SKIPPED, "reason"} or a caught
    error {"Error", "Cause"}; a nested execution's failure has the adopt workflow's Error and Cause inside Cause."""
    if result.get("status") == "SUCCEEDED":
        return "succeeded", None
    if result.get("status") == "SKIPPED":
        return "skipped", str(result.get("reason") or "")
    error, cause = str(result.get("Error") or "unknown"), str(result.get("Cause") or "")
    try:
        nested = json.loads(cause)
    except ValueError:
        nested = None
    if isinstance(nested, dict) and ("Error" in nested or "Cause" in nested):
        error, cause = str(nested.get("Error") or error), str(nested.get("Cause") or "")
    return "failed", f"{error}: {cause}" if cause else error
