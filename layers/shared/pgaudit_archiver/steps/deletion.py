"""RDS's deletion events (rds_events.py): an onboarded source whose database was deleted is marked `deleted` at once,
as reconciliation would mark it at its next run (steps/lifecycle.py: no drift alarms, no repair, its archive resources
kept for DeletedSourceGraceDays from now, archived objects never touched).

The event alone proves nothing: anyone the bus policy admits (the archive account, AllowedAccountIds, the
organization) can put an event on the archive bus that reads like RDS's. So RDS is asked, through the source role of
the account the event names, where the source's database is (lifecycle.locate, by its recorded resource id): only a
database gone from its name and not found by its resource id, or one RDS reports `deleting`, is marked. A database
renamed or switched over is reconciliation's to follow; one with no resource id recorded is not known to be deleted
rather than renamed, as reconciliation says too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.aws.registry import Registry, source_of_item
from pgaudit_archiver.errors import SourceAccessDeniedError
from pgaudit_archiver.models import Source
from pgaudit_archiver.rds_events import rds_event
from pgaudit_archiver.status import SourceStatus
from pgaudit_archiver.steps.auto_onboard import Decision
from pgaudit_archiver.steps.lifecycle import locate, record_deleted
from pgaudit_archiver.steps.reconcile import VERIFIED_STATUSES

DELETING = "deleting"  # DBClusterStatus / DBInstanceStatus while RDS deletes it


def deleted_source(event: dict[str, Any]) -> Source | None:
    """The DB cluster or DB instance an RDS deletion event is about; None for any other event."""
    found = rds_event(event)
    return found[1] if found is not None and found[0] == "deleted" else None


def record_deletion(
    event: dict[str, Any], region: str, rds_for: Callable[[Source], SourceRds], registry: Registry
) -> Decision:
    source = deleted_source(event)
    if source is None:
        return Decision(action="skipped", reason="not a DB cluster or DB instance deletion")
    if source.region != region:
        return Decision(action="skipped", reason=f"the database is in {source.region}; this stack serves {region}",
                        source=source)  # fmt: skip
    item = registry.get(source)
    if item is None:  # an Aurora cluster's members too: their DB instance events are not the cluster's
        return Decision(action="skipped", reason="not a registered source", source=source)
    source = source_of_item(item)  # the registry knows a DB cluster's kind
    status = item.get("status")
    if status == SourceStatus.DELETED:
        return Decision(action="skipped", reason=f"already deleted at {item.get('deleted_at')}", source=source)
    if status not in VERIFIED_STATUSES:  # as reconciliation: a running workflow records its own end
        return Decision(action="skipped", reason=f"status {status}: not an onboarded source", source=source)
    try:
        where = locate(rds_for(source), source, item.get("resource_id"))
    except SourceAccessDeniedError as error:  # not marked unseen; reconciliation reports the source unverifiable
        return Decision(action="failed", reason=str(error), source=source)
    database = where.database
    if where.state == "deleted" or (where.state == "present" and database is not None and database.status == DELETING):
        at = record_deleted(registry, source, item, {"deletion_event": _seen(event)})
        if at is None:
            return Decision(action="skipped", reason="claimed by a workflow while RDS was asked: left to it",
                            source=source)  # fmt: skip
        return Decision(action="deleted", reason=f"RDS confirms: deleted at {at}", source=source)
    if where.state == "present" and database is not None:
        return Decision(action="skipped", reason=f"RDS says the database is {database.status}, not deleted",
                        source=source)  # fmt: skip
    return Decision(action="skipped", reason=f"RDS finds it {where.state}: left to reconciliation", source=source)


def _seen(event: dict[str, Any]) -> dict[str, Any]:
    detail = event.get("detail") or {}
    return {"id": event.get("id"), "event_id": detail.get("EventID"), "time": event.get("time")}
