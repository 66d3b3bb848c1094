"""Automatic onboarding: RDS "DB cluster created" and cluster tag-change events forwarded by source accounts.

AutoOnboard `tagged` (and `all`, the same since onboarding needs the owner's consent) onboards each new Aurora
PostgreSQL cluster its owner tagged pgaudit-archiver=enabled (consent.py), `off` none; a cluster tagged
pgaudit-archiver=disabled is never onboarded. The workflow started is the API's, with the same registry and
one-execution guarantee.

No tag or event field chooses an option: a new cluster gets the deployment's defaults (at or above the minimum audit
policy: the settings refuse defaults below it), and a source the registry still holds (drifted, failed) keeps its
recorded request, so a tag change can never lower what it audits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.consent import CONSENT_TAG_KEY, CONSENT_TAG_VALUE, OPT_OUT_TAG_VALUE, consented, tags_of
from pgaudit_archiver.errors import ArchiverError, SourceAccessDeniedError, TransientError
from pgaudit_archiver.models import CLUSTER_ID_PATTERN, Model, Source, onboard_input
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.status import ONBOARDED_STATUSES, SourceStatus
from pgaudit_archiver.steps.validate import ENGINE

AutoOnboard = Literal["all", "tagged", "off"]
CLUSTER_CREATED = "RDS-EVENT-0170"


class Decision(Model):
    action: Literal["started", "already-running", "skipped", "failed"]
    reason: str
    source: Source | None = None
    execution_arn: str | None = None


def _cluster_of_arn(arn: Any) -> str:
    """The cluster id in a DB cluster ARN (arn:aws:rds:<region>:<account>:cluster:<id>); empty for anything else."""
    return arn.rsplit(":cluster:", 1)[-1] if isinstance(arn, str) and ":cluster:" in arn else ""


def source_of_event(event: dict[str, Any]) -> Source | None:
    """The cluster an RDS or tag-change event is about."""
    detail = event.get("detail") or {}
    resources = event.get("resources") or [""]
    if event.get("source") == "aws.rds":
        if detail.get("EventID") != CLUSTER_CREATED:
            return None
        # AWS's own example of an "RDS DB Cluster Event" has "SourceIdentifier": "rds:my-db-cluster", captures have
        # the bare id: the ARN says which cluster either way.
        identifier = str(detail.get("SourceIdentifier") or "").removeprefix("rds:")
        cluster_id = _cluster_of_arn(detail.get("SourceArn")) or _cluster_of_arn(resources[0]) or identifier
    elif (
        event.get("source") == "aws.tag" and detail.get("service") == "rds" and detail.get("resource-type") == "cluster"
    ):
        cluster_id = _cluster_of_arn(resources[0])
    else:
        return None
    account, region = str(event.get("account", "")), str(event.get("region", ""))
    if not (account.isdigit() and len(account) == 12 and re.fullmatch(CLUSTER_ID_PATTERN, cluster_id or "")):
        return None
    return Source(account_id=account, region=region, cluster_id=cluster_id.lower())


def onboarding_request(source: Source, current: dict[str, Any]) -> dict[str, Any]:
    """The request an automatic onboarding (or an adoption) starts, given the source's registry item."""
    if current.get("request") and current.get("status") != SourceStatus.OFFBOARDED:
        # Its own onboarding request again, not the defaults (fewer classes than it has, perhaps); never its reboot
        # policy, which a tag change would otherwise trigger; nothing of an offboarding request (restore).
        return onboard_input(source, current["request"], leave_out=frozenset({"reboot"}))
    return onboard_input(source, {})


def why_not_consented(tags: dict[str, str]) -> str | None:
    """Why a database's tags keep it from being onboarded automatically or adopted; None when its owner consented."""
    if tags.get(CONSENT_TAG_KEY) == OPT_OUT_TAG_VALUE:
        return f"tagged {CONSENT_TAG_KEY}={OPT_OUT_TAG_VALUE}"
    if not consented(tags):
        return f"the owner has not consented: not tagged {CONSENT_TAG_KEY}={CONSENT_TAG_VALUE}"
    return None


def decide(
    event: dict[str, Any],
    policy: AutoOnboard,
    region: str,
    rds_for: Callable[[Source], SourceRds],
    registry: Registry,
    service: ClusterService,
) -> Decision:
    source = source_of_event(event)
    if source is None:
        return Decision(action="skipped", reason="not a DB cluster creation or cluster tag change")
    if policy == "off":
        return Decision(action="skipped", reason="AutoOnboard is off", source=source)
    if source.region != region:
        return Decision(action="skipped", reason=f"the cluster is in {source.region}; this stack serves {region}",
                        source=source)  # fmt: skip
    try:
        cluster = rds_for(source).describe_cluster(source.cluster_id)
    except SourceAccessDeniedError as error:
        # A source that sends events but has not deployed the role: say so in the registry, do not drop it.
        last_error = {"step": "Automatic Onboarding", "error": type(error).__name__,
                      "aws_error_code": error.aws_error_code, "message": str(error)}  # fmt: skip
        registry.finish(source, SourceStatus.FAILED, {"last_error": last_error})
        return Decision(action="failed", reason=str(error), source=source)
    if cluster is None:
        return Decision(action="skipped", reason="the cluster no longer exists", source=source)
    if cluster.get("Engine") != ENGINE:
        return Decision(action="skipped", reason=f"engine {cluster.get('Engine')} is not {ENGINE}", source=source)
    reason = why_not_consented(tags_of(cluster.get("TagList")))
    if reason:
        return Decision(action="skipped", reason=reason, source=source)
    current = registry.get(source) or {}
    if current.get("status") in ONBOARDED_STATUSES:
        return Decision(action="skipped", reason=f"already {current['status']}", source=source)
    request = onboarding_request(source, current)
    try:
        started = service.start("onboard", source, request)
    except TransientError:
        raise  # the event is delivered again (the function fails), as when AWS's refusal reached it unchanged
    except ArchiverError as error:
        return Decision(action="failed", reason=str(error), source=source)
    action: Literal["started", "already-running"] = "already-running" if started.already_running else "started"
    return Decision(action=action, reason="onboarding", source=source, execution_arn=started.execution_arn)
