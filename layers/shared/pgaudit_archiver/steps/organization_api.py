"""POST /organization/adopt and GET /organization/adoptions/{id}: every member account of the AWS Organization
adopted in one request (steps/organization_adoption.py says how), by an admin only, one at a time."""

from __future__ import annotations

import uuid
from typing import Any

from pgaudit_archiver.aws.account_limits import AccountLimits
from pgaudit_archiver.aws.organization_adoptions import OrganizationAdoptions
from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.aws.stepfunctions import ArchiveStepFunctions
from pgaudit_archiver.errors import AdoptionRunningError, ForbiddenError, NotFoundError
from pgaudit_archiver.models import Model
from pgaudit_archiver.naming import console_url
from pgaudit_archiver.service import AdoptRequest, Caller, ClusterService
from pgaudit_archiver.steps.organization_adoption import (
    ORGANIZATION_HOLD,
    Organization,
    hold_adoption,
    organization_adoption_id,
)

ORGANIZATION_ADOPTION_ID = r"^adopt-organization-[a-z]{2}(?:-[a-z]+)+-\d-(?:dry-run-)?[0-9a-f]{8}$"


class OrganizationAdoptRequest(AdoptRequest):
    """POST /organization/adopt: each ACTIVE member account adopted as POST /accounts/{id}/adopt adopts one (the same
    fields; a dry run lists each account's plan)."""


class OrganizationAdoption(Model):
    region: str
    dry_run: bool
    adoption_id: str
    execution_arn: str
    console_url: str
    status_path: str


def organization_status_path(adoption_id: str) -> str:
    return f"/organization/adoptions/{adoption_id}"


def require_admin(service: ClusterService, caller: Caller) -> None:
    if not service.is_admin(caller):
        raise ForbiddenError(
            f"{caller.principal_arn} may not adopt the whole organization: it acts on every member account",
            remedy="call as a principal listed in AdminPrincipalArns, or adopt your own account with "
            "POST /accounts/{account_id}/adopt",
        )


def start_organization_adoption(
    service: ClusterService,
    caller: Caller,
    region: str,
    request: OrganizationAdoptRequest,
    state_machine: str,
    limits: AccountLimits,
    stepfunctions: ArchiveStepFunctions,
) -> OrganizationAdoption:
    """Start the organization adoption (admins only): one at a time per region, else AdoptionRunningError (409)
    naming the running one; a dry run starts no onboarding and waits for none."""
    require_admin(service, caller)
    name = organization_adoption_id(region, uuid.uuid4().hex[:8], request.dry_run)
    arn = state_machine.replace(":stateMachine:", ":execution:") + f":{name}"
    if not request.dry_run:
        running = hold_adoption(limits, stepfunctions, ORGANIZATION_HOLD, region, name, arn)
        if running is not None:
            raise AdoptionRunningError(
                f"the organization has adoption {running['adoption_id']} running in {region}",
                adoption_id=running["adoption_id"],
                status_path=organization_status_path(running["adoption_id"]),
            )
    organization = Organization(adoption_id=name, region=region, mode=request.mode, dry_run=request.dry_run)
    try:
        started = stepfunctions.start(state_machine, name, organization.model_dump(mode="json"))
    except Exception:
        if not request.dry_run:
            limits.drop_adoption(ORGANIZATION_HOLD, region, arn)
        raise
    return OrganizationAdoption(region=region, dry_run=request.dry_run, adoption_id=name, execution_arn=started,
                                console_url=console_url(started),
                                status_path=organization_status_path(name))  # fmt: skip


def organization_adoption_status(
    service: ClusterService,
    caller: Caller,
    adoption_id: str,
    state_machine: str,
    stepfunctions: ArchiveStepFunctions,
    progress: OrganizationAdoptions,
    registry: Registry,
) -> dict[str, Any]:
    """Where it stands: its execution, the accounts done / running / failed / skipped (with reasons), and the
    archive's sources by status (one scan of the registry reading only the status)."""
    require_admin(service, caller)
    arn = state_machine.replace(":stateMachine:", ":execution:") + f":{adoption_id}"
    execution = stepfunctions.describe(arn)
    if execution is None:
        raise NotFoundError(f"no organization adoption {adoption_id}", remedy="adoptions are kept 90 days")
    counts = progress.progress(adoption_id) or {"listed": 0, "started": 0, "succeeded": 0, "failed": 0,
                                                "skipped": 0, "reasons": {}}  # fmt: skip
    reasons: dict[str, str] = counts["reasons"]
    running = max(0, counts["started"] - counts["succeeded"] - counts["failed"])
    ended = counts["succeeded"] + counts["failed"] + counts["skipped"]
    accounts = {
        "listed": counts["listed"],
        "adopted": counts["succeeded"],
        "running": running,
        "failed": counts["failed"],
        "skipped": counts["skipped"],
        "waiting": max(0, counts["listed"] - ended - running),
    }
    return {
        "adoption_id": adoption_id,
        **{key: execution[key] for key in ("status", "started_at", "stopped_at", "error", "cause")},
        "accounts": accounts,
        "failed_accounts": {a: r.removeprefix("failed: ") for a, r in reasons.items() if r.startswith("failed: ")},
        "skipped_accounts": {a: r.removeprefix("skipped: ") for a, r in reasons.items() if r.startswith("skipped: ")},
        "sources": registry.count_by_status(),
    }
