"""Adoption: onboard the Aurora PostgreSQL clusters an account already has, by the rules of automatic onboarding.

One adoption is one execution of the adopt workflow. Discover Clusters reads the account's clusters a page at a time
(DescribeDBClusters, 100 a page) through the source role and decides for each: onboard it, or skip it and say why
(the same opt-in and opt-out tags as AutoOnboard, in the mode the request names or the deployment's). The workflow
then onboards the page's clusters, a bounded number at a time, each as an onboarding execution of its own, and asks
for the next page with the results, which Discover Clusters tallies. Run again, it onboards only what is missing:
a cluster onboarded, onboarding or offboarding is skipped.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from pgaudit_archiver.aws.rds_inventory import SourceClusterInventory
from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.consent import tags_of
from pgaudit_archiver.models import Model, Source
from pgaudit_archiver.steps.auto_onboard import AutoOnboard, onboarding_request, why_not_consented
from pgaudit_archiver.steps.validate import ENGINE

AdoptionMode = Literal["all", "tagged"]
PAGE_SIZE = 100  # DescribeDBClusters returns at most 100 clusters a call (RDS API reference)
MAX_LISTED = 500  # per list in a dry run's output: state payloads are at most 256 KB
RUNNING_OR_ONBOARDED = {"active", "pending-reboot", "onboarding", "offboarding"}


class Skipped(Model):
    cluster_id: str
    reason: str


class AdoptionTotals(Model):
    clusters: int = 0  # Aurora PostgreSQL clusters seen
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
    marker: str | None = None
    done: bool = False
    to_onboard: list[dict[str, Any]] = Field(default_factory=list)  # onboarding requests
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


def decide(cluster: dict[str, Any], mode: AdoptionMode, registry: Registry, source: Source) -> str | None:
    """None to onboard the cluster; else why it is skipped."""
    if cluster.get("Engine") != ENGINE:
        return f"engine {cluster.get('Engine')} is not {ENGINE}"
    not_consented = why_not_consented(tags_of(cluster.get("TagList")))
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
    for result in results:
        if result.get("status") == "SUCCEEDED":
            totals["onboarded"] += 1
        else:
            totals["failed"] += 1
            if len(failures) < MAX_LISTED:
                failures.append({"cluster_id": result.get("cluster_id"), "error": result.get("error"),
                                 "cause": str(result.get("cause") or "")[:500]})  # fmt: skip
    return page.model_copy(update={"totals": AdoptionTotals(**totals), "failures": failures})


def next_page(page: AdoptionPage, inventory: SourceClusterInventory, registry: Registry) -> AdoptionPage:
    """The next page of the account's clusters, decided; `done` once the last page was read."""
    if page.done or (page.marker is None and page.totals.clusters > 0):
        return page.model_copy(update={"to_onboard": [], "done": True})
    clusters, marker = inventory.list_clusters(PAGE_SIZE, page.marker)
    totals = page.totals.model_dump()
    planned, skipped, to_onboard = list(page.planned), list(page.skipped), []
    for cluster in clusters:
        cluster_id = str(cluster["DBClusterIdentifier"]).lower()
        source = Source(account_id=page.account_id, region=page.region, cluster_id=cluster_id)
        totals["clusters"] += 1
        reason = decide(cluster, page.mode, registry, source)
        if reason is not None:
            totals["skipped"] += 1
            if page.dry_run and len(skipped) < MAX_LISTED:
                skipped.append(Skipped(cluster_id=cluster_id, reason=reason))
            continue
        totals["planned"] += 1
        if page.dry_run:
            if len(planned) < MAX_LISTED:
                planned.append(cluster_id)
        else:
            to_onboard.append(onboarding_request(source, registry.get(source) or {}))
    last = marker is None
    return page.model_copy(update={
        "marker": marker, "to_onboard": to_onboard, "totals": AdoptionTotals(**totals), "planned": planned,
        "skipped": skipped,
        # Done when the last page was read and nothing of it is left to onboard.
        "done": last and not to_onboard,
    })  # fmt: skip
