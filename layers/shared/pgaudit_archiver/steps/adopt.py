"""Adoption: onboard the PostgreSQL databases an account already has (DB clusters, Aurora and Multi-AZ, then
standalone RDS for PostgreSQL DB instances), by the rules of automatic onboarding.

One adoption is one execution of the adopt workflow. Discover Clusters reads the account's DB clusters a page at a
time (DescribeDBClusters, 100 a page), then its DB instances (DescribeDBInstances, 100 a page; a DB cluster's members
are the cluster's, not sources of their own), through the source role, and decides for each: onboard it, or skip it
and say why (the same opt-in and opt-out tags as AutoOnboard, in the mode the request names or the deployment's). The
workflow then onboards the page's databases, a bounded number at a time, each as an onboarding execution of its own
(started by cluster_id or instance_id), and asks for the next page with the results, which Discover Clusters tallies.
Run again, it onboards only what is missing: a database onboarded, onboarding or offboarding is skipped. Lists and
results name a database by its source key (the cluster identifier, `instance--<id>` for a DB instance), in the field
`cluster_id` the adoption's output has always had.

Deciding is not owning: between Discover Clusters and the onboarding's start, POST /clusters, automatic onboarding or
another adoption may start the same cluster. So Claim Cluster claims each one in the registry just before its
onboarding starts, with the same conditional write POST /clusters uses, under an execution name chosen here; a
cluster claimed first by anyone else is skipped and says so. Release Claim records as failed a claim whose onboarding
never started (or ended without recording it); an onboarding that ran has recorded its own end.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from pgaudit_archiver.aws.account_limits import AccountLimits
from pgaudit_archiver.aws.rds_inventory import SourceClusterInventory
from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.aws.stepfunctions import ArchiveStepFunctions
from pgaudit_archiver.errors import ThrottledError
from pgaudit_archiver.kinds import DatabaseKind, cluster_kind_for_engine, kind_of
from pgaudit_archiver.models import DatabaseFacts, Model, Source
from pgaudit_archiver.naming import console_url, execution_name
from pgaudit_archiver.status import ONBOARDED_STATUSES, RUNNING_STATUSES
from pgaudit_archiver.steps.auto_onboard import AutoOnboard, onboarding_request, why_not_consented

AdoptionMode = Literal["all", "tagged"]
Listing = Literal["clusters", "instances", "nothing"]  # what the next page lists ("nothing": all were read)
PAGE_SIZE = 100  # DescribeDBClusters and DescribeDBInstances return at most 100 a call (RDS API reference)
MAX_LISTED = 500  # per list in a dry run's output: state payloads are at most 256 KB
RUNNING_OR_ONBOARDED = RUNNING_STATUSES | ONBOARDED_STATUSES


class Skipped(Model):
    cluster_id: str  # the source key: instance--<id> for a DB instance
    reason: str


class AdoptionTotals(Model):
    clusters: int = 0  # PostgreSQL DB clusters seen (Aurora and Multi-AZ)
    instances: int = 0  # standalone RDS for PostgreSQL DB instances seen
    planned: int = 0  # started, or (dry run) to start
    onboarded: int = 0
    failed: int = 0
    skipped: int = 0


class AdoptionPage(Model):
    """What the workflow carries from one page to the next: never more than one page of clusters."""

    account_id: str
    region: str
    mode: AdoptionMode
    dry_run: bool = False
    concurrency: int = Field(default=10, ge=1, le=40)  # onboardings at once (the Map's MaxConcurrencyPath)
    listing: Listing = "clusters"
    marker: str | None = None
    done: bool = False
    to_onboard: list[dict[str, Any]] = Field(default_factory=list)  # {"key": source key, "request": onboarding input}
    totals: AdoptionTotals = Field(default_factory=AdoptionTotals)
    # A dry run lists its decisions (up to MAX_LISTED each); an adoption lists its failures.
    planned: list[str] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)
    failures: list[dict[str, Any]] = Field(default_factory=list)


def adoption_mode(requested: AdoptionMode | None, deployment: AutoOnboard) -> AdoptionMode | None:
    """The request's mode, else the deployment's AutoOnboard; None when AutoOnboard is off and none was asked."""
    if requested is not None:
        return requested
    return None if deployment == "off" else deployment


def decide(facts: DatabaseFacts, mode: AdoptionMode, registry: Registry, source: Source) -> str | None:
    """None to onboard the cluster; else why it is skipped."""
    if cluster_kind_for_engine(facts.engine) is None:
        return f"engine {facts.engine} is not aurora-postgresql or postgres"
    not_consented = why_not_consented(facts.tags)
    if not_consented:  # whatever the mode: the source role may change nothing else
        return not_consented
    status = (registry.get(source) or {}).get("status")
    if status in RUNNING_OR_ONBOARDED:
        return f"already {status}"
    return None


def tally(page: AdoptionPage, results: list[dict[str, Any]]) -> AdoptionPage:
    """The previous page's onboardings counted: each result is {"cluster_id", "status": SUCCEEDED|FAILED, ...}."""
    totals = page.totals.model_dump()
    failures = list(page.failures)
    skipped = list(page.skipped)
    for result in results:  # cluster_id: the source key
        if result.get("status") == "SUCCEEDED":
            totals["onboarded"] += 1
        elif result.get("status") == "SKIPPED":  # claimed by another execution after it was planned
            totals["planned"] -= 1
            totals["skipped"] += 1
            if len(skipped) < MAX_LISTED:
                skipped.append(Skipped(cluster_id=str(result.get("cluster_id")), reason=str(result.get("reason"))))
        else:
            totals["failed"] += 1
            if len(failures) < MAX_LISTED:
                failures.append({"cluster_id": result.get("cluster_id"), "error": result.get("error"),
                                 "cause": str(result.get("cause") or "")[:500]})  # fmt: skip
    return page.model_copy(update={"totals": AdoptionTotals(**totals), "failures": failures, "skipped": skipped})


def next_page(page: AdoptionPage, inventory: SourceClusterInventory, registry: Registry) -> AdoptionPage:
    """The next page of the account's databases, decided: the DB clusters' pages, then the DB instances'; `done` once
    the last page of instances was read (and nothing of it is left to onboard)."""
    if page.done or page.listing == "nothing":
        return page.model_copy(update={"to_onboard": [], "done": True})
    if page.listing == "clusters":
        databases, marker = inventory.list_clusters(PAGE_SIZE, page.marker)
    else:
        databases, marker = inventory.list_instances(PAGE_SIZE, page.marker)
    totals = page.totals.model_dump()
    planned, skipped, to_onboard = list(page.planned), list(page.skipped), []
    for database in databases:
        kind = database.kind if kind_of(database.kind).is_cluster else DatabaseKind.DB_INSTANCE
        source = Source(account_id=page.account_id, region=page.region, cluster_id=database.identifier.lower(),
                        kind=kind)  # fmt: skip
        totals["clusters" if kind_of(kind).is_cluster else "instances"] += 1
        reason = decide(database, page.mode, registry, source)
        if reason is not None:
            totals["skipped"] += 1
            if page.dry_run and len(skipped) < MAX_LISTED:
                skipped.append(Skipped(cluster_id=source.key, reason=reason))
            continue
        totals["planned"] += 1
        if page.dry_run:
            if len(planned) < MAX_LISTED:
                planned.append(source.key)
        else:
            to_onboard.append({"key": source.key, "request": onboarding_request(source, registry.get(source) or {})})
    listing: Listing = page.listing
    if marker is None:  # the last page of clusters (the instances' first comes next), or of instances
        listing = "instances" if listing == "clusters" else "nothing"
    return page.model_copy(update={
        "listing": listing, "marker": marker, "to_onboard": to_onboard, "totals": AdoptionTotals(**totals),
        "planned": planned, "skipped": skipped, "done": listing == "nothing" and not to_onboard,
    })  # fmt: skip


def request_source(request: dict[str, Any]) -> Source:
    """The source an onboarding input names: by instance_id a DB instance, by cluster_id a DB cluster."""
    where = {key: request.get(key) for key in ("account_id", "region")}
    if request.get("instance_id"):
        return Source.model_validate(where | {"cluster_id": request["instance_id"], "kind": DatabaseKind.DB_INSTANCE})
    return Source.model_validate(where | {"cluster_id": request.get("cluster_id")})


class Claim(Model):
    """Claim Cluster's answer: the onboarding's execution name when the database is the adoption's to onboard."""

    cluster_id: str
    claimed: bool
    execution_name: str | None = None
    reason: str | None = None


def onboarding_execution_arn(onboard_state_machine: str, name: str) -> str:
    return onboard_state_machine.replace(":stateMachine:", ":execution:") + f":{name}"


def claim_cluster(
    request: dict[str, Any],
    adoption_arn: str,
    onboard_state_machine: str,
    registry: Registry,
    limits: AccountLimits,
) -> Claim:
    """Claim the cluster for an onboarding about to start under the name returned, counted against the account's
    executions a minute (ThrottledError, retried by the workflow, once they are spent)."""
    source = request_source(request)
    retry_after = limits.take_start(source.account_id)
    if retry_after is not None:
        raise ThrottledError(
            f"account {source.account_id} has started its {limits.executions_per_minute} executions of this "
            f"minute (AccountExecutionsPerMinute); {source} waits {retry_after} s",
            remedy="none: the adoption retries; raise AccountExecutionsPerMinute to adopt faster",
        )
    # Named here, so the claim names the execution before it exists. Onboard Cluster's retried start stays one
    # execution: "When the original execution is open and the execution input from the new call is identical, the
    # Success message is returned" (StartExecution API reference, name).
    name = execution_name(source, "adopt-" + uuid.uuid4().hex[:8])
    arn = onboarding_execution_arn(onboard_state_machine, name)
    claim = {"execution_arn": arn, "console_url": console_url(arn), "claimed_by": adoption_arn}
    if registry.claim(source, "onboard", request, **claim):
        return Claim(cluster_id=source.cluster_id, claimed=True, execution_name=name)
    current = registry.get(source) or {}
    # This adoption's own claim, made by an invocation whose answer was lost (the task is retried after a Lambda
    # error): claimed again under the new name; the old one was never started (Onboard Cluster starts it only).
    mine = current.get("claimed_by") == adoption_arn and current.get("execution_arn")
    if mine and registry.claim(source, "onboard", request, stale_execution=str(mine), **claim):
        return Claim(cluster_id=source.cluster_id, claimed=True, execution_name=name)
    status = current.get("status", "claimed")
    return Claim(cluster_id=source.cluster_id, claimed=False,
                 reason=f"already {status} (started by another request after the adoption planned it)")  # fmt: skip


def release_claim(
    request: dict[str, Any],
    name: str,
    failure: dict[str, Any],
    onboard_state_machine: str,
    registry: Registry,
    stepfunctions: ArchiveStepFunctions,
) -> bool:
    """After Onboard Cluster failed: record the claim as failed unless its onboarding runs (it records its own end)
    or has recorded it; True when this recorded it."""
    source = request_source(request)
    arn = onboarding_execution_arn(onboard_state_machine, name)
    status = stepfunctions.status(arn)
    if status == "RUNNING":
        return False
    what = "was never started" if status is None else f"ended {status} without recording it"
    cause = str(failure.get("Cause") or "")[:500]
    last_error = {"step": "Onboard Cluster", "error": str(failure.get("Error") or "unknown"), "aws_error_code": None,
                  "message": f"the adoption's onboarding {name} {what}: {cause}"}  # fmt: skip
    return registry.release_claim(source, arn, last_error)
