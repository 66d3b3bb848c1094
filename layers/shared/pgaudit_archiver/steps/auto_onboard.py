"""Automatic onboarding: the RDS events of a new database (created or restored: rds_events.py) and the tag changes of
DB clusters and DB instances, forwarded by source accounts. A DB instance that is a member of a DB cluster is the
cluster's: its events are skipped (the cluster's own onboard it). A deletion event is steps/deletion.py's.

AutoOnboard `tagged` (and `all`, the same since onboarding needs the owner's consent) onboards each new Aurora
PostgreSQL cluster its owner tagged pgaudit-archiver=enabled (consent.py), `off` none; a cluster tagged
pgaudit-archiver=disabled is never onboarded. The workflow started is the API's, with the same registry and
one-execution guarantee.

No tag or event field chooses an option: a new cluster gets the deployment's defaults (at or above the minimum audit
policy: the settings refuse defaults below it), and a source the registry still holds (drifted, failed) keeps its
recorded request, so a tag change can never lower what it audits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.consent import CONSENT_TAG_KEY, CONSENT_TAG_VALUE, OPT_OUT_TAG_VALUE, consented
from pgaudit_archiver.errors import ArchiverError, SourceAccessDeniedError, TransientError
from pgaudit_archiver.kinds import DatabaseKind, kind_of
from pgaudit_archiver.models import Model, Source, onboard_input
from pgaudit_archiver.rds_events import rds_event, tag_change_source
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.status import ONBOARDED_STATUSES, SourceStatus

AutoOnboard = Literal["all", "tagged", "off"]


class Decision(Model):
    action: Literal["started", "already-running", "skipped", "failed", "deleted"]
    reason: str
    source: Source | None = None
    execution_arn: str | None = None


def source_of_event(event: dict[str, Any]) -> Source | None:
    """The new DB cluster or DB instance (created or restored) an RDS event is about, or the one whose tags changed."""
    found = rds_event(event)
    if found is not None:
        meaning, source = found
        return source if meaning == "new" else None
    return tag_change_source(event)


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
        return Decision(action="skipped", reason="not a new DB cluster or DB instance, nor a tag change")
    if policy == "off":
        return Decision(action="skipped", reason="AutoOnboard is off", source=source)
    if source.region != region:
        return Decision(action="skipped", reason=f"the cluster is in {source.region}; this stack serves {region}",
                        source=source)  # fmt: skip
    try:
        rds = rds_for(source)
        database = rds.database(source)
        member_of = None
        if database is None and source.kind is DatabaseKind.DB_INSTANCE:
            instance = rds.instance(source.cluster_id)
            member_of = instance.cluster_id if instance else None
    except SourceAccessDeniedError as error:
        # A source that sends events but has not deployed the role: say so in the registry, do not drop it.
        last_error = {"step": "Automatic Onboarding", "error": type(error).__name__,
                      "aws_error_code": error.aws_error_code, "message": str(error)}  # fmt: skip
        registry.finish(source, SourceStatus.FAILED, {"last_error": last_error})
        return Decision(action="failed", reason=str(error), source=source)
    if member_of:
        return Decision(
            action="skipped", reason=f"a member of DB cluster {member_of}, onboarded with it", source=source
        )
    if database is None:
        noun = kind_of(source.kind).short_noun()
        return Decision(action="skipped", reason=f"the {noun} no longer exists", source=source)
    source = source.model_copy(update={"kind": database.kind})
    engine = kind_of(database.kind).engine
    if database.engine != engine:
        return Decision(action="skipped", reason=f"engine {database.engine} is not {engine}", source=source)
    reason = why_not_consented(database.tags)
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
