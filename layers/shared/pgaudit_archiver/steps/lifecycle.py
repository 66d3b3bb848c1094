"""A registered source's database over its life: found by its resource id, not by its name.

A database's identity is its resource id (DbClusterResourceId, DbiResourceId): it stays through a rename, and a
database restored, cloned or recreated under a name gets a new one. Reconciliation asks where the recorded resource
id is now:
- present: the registered name still holds it (or no resource id was recorded yet: it is recorded now);
- renamed: it lives on under another name: the source follows it (a new source under the new name, with the same
  request and original settings; the old name's source is offboarded, its archived objects kept);
- switched-over: the registered name holds another resource and ours is now `<name>-old<n>`, the name a blue/green
  switchover gives the old blue ("the blue environment's resources are renamed by appending -old<n>", RDS User
  Guide, "Switching a blue/green deployment"): the one case where the source follows the NAME to the new resource.
  Also when the old blue is gone (deleted before a run saw the switchover): the switched-over deployment whose
  `Target` is the name's database still names `<name>-old<n>` as its `Source`;
- deleted: neither its name nor its resource id is found (a database that took the name since is another one);
- missing: its name is gone and no resource id was ever recorded (registered before they were, and gone before a
  run recorded it): not known to be deleted rather than renamed, so reported as drift `cluster-missing`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.aws.registry import Registry, now
from pgaudit_archiver.errors import ClusterNotEligibleError
from pgaudit_archiver.kinds import kind_of
from pgaudit_archiver.models import DatabaseFacts, Model, Source
from pgaudit_archiver.observability import logger
from pgaudit_archiver.status import SourceStatus
from pgaudit_archiver.steps.parameter_group import prepare_green
from pgaudit_archiver.steps.reboot import advance_reboot

State = Literal["present", "renamed", "switched-over", "deleted", "missing"]


class Whereabouts(Model):
    state: State
    database: DatabaseFacts | None = None  # the database the source now follows (none when deleted)
    old_blue: str | None = None  # switched-over: the old blue's name (<name>-old<n>)


def locate(rds: SourceRds, source: Source, recorded_resource_id: str | None) -> Whereabouts:
    by_name = rds.database(source)
    if by_name is not None and (not recorded_resource_id or by_name.resource_id == recorded_resource_id):
        return Whereabouts(state="present", database=by_name)
    moved = rds.database_by_resource_id(source.kind, recorded_resource_id) if recorded_resource_id else None
    if moved is not None and by_name is not None and is_old_blue(source.cluster_id, moved.identifier):
        return Whereabouts(state="switched-over", database=by_name, old_blue=moved.identifier)
    if moved is not None:
        return Whereabouts(state="renamed", database=moved)
    if by_name is not None and recorded_resource_id:
        # The old blue may be deleted before a run saw the switchover: the deployment still names it.
        old_blues = [name for name in rds.old_blues_of(by_name) if is_old_blue(source.cluster_id, name)]
        if old_blues:
            return Whereabouts(state="switched-over", database=by_name, old_blue=old_blues[0])
    if not recorded_resource_id and by_name is None:  # no identity to look for: its name alone is gone
        return Whereabouts(state="missing")
    return Whereabouts(state="deleted")


def is_old_blue(name: str, other: str) -> bool:
    return re.fullmatch(rf"{re.escape(name)}-old[0-9]+", other) is not None


def record_deleted(registry: Registry, source: Source, item: dict[str, Any], fields: dict[str, Any]) -> str | None:
    """Mark the source deleted, by reconciliation or by RDS's deletion event, whichever sees it first: `deleted_at` is
    kept from then (DeletedSourceGraceDays run from it). Returns it; None when the item left the status it was read
    with while RDS was asked (an onboarding of a new database under the name claimed it): that writer's item stays."""
    deleted_at: str = item.get("deleted_at") or now()
    if not registry.finish(source, SourceStatus.DELETED, {"deleted_at": deleted_at, **fields},
                           if_status=item.get("status")):  # fmt: skip
        return None
    if item.get("status") != SourceStatus.DELETED:
        logger.info("source deleted", extra={"source": str(source), "resource_id": item.get("resource_id")})
    return deleted_at


def grace_over(deleted_at: str, grace_days: int, at: datetime) -> bool:
    return at >= datetime.fromisoformat(deleted_at).astimezone(UTC) + timedelta(days=grace_days)


def offboard_input(source: Source) -> dict[str, Any]:
    """Offboarding without restore: the database is gone from this name, so nothing there is the source's to undo."""
    field = "cluster_id" if kind_of(source.kind).is_cluster else "instance_id"
    return {"account_id": source.account_id, "region": source.region, field: source.cluster_id, "restore": False}


def renamed_source(source: Source, database: DatabaseFacts) -> Source:
    return Source(account_id=source.account_id, region=source.region, cluster_id=database.identifier,
                  kind=database.kind)  # fmt: skip


class GreenPrepared(Model):
    """A pending green given the source's pgaudit group: which, the changes, and the owner's reboot command that
    loads pgaudit on it before switchover ("" when it needs none)."""

    group: str
    changes: tuple[str, ...]
    reboot: str


def ready_green(rds: SourceRds, source: Source, green_id: str, pgaudit_log: str) -> GreenPrepared:
    """A pending green of `source` given the source's pgaudit group of its family (prepare_green)."""
    green = rds.database(source.model_copy(update={"cluster_id": green_id}))
    if green is None:
        raise ClusterNotEligibleError(f"the green {green_id} is gone")
    group, changes, needs_reboot = prepare_green(rds, source, green, pgaudit_log)
    return GreenPrepared(group=group, changes=changes, reboot=reboot_command(green) if needs_reboot else "")


def reboot_green(rds: SourceRds, source: Source, green_id: str) -> tuple[str, ...]:
    """One step of a pending green's reboot, as Reboot Instances takes it (steps/reboot.py: one reboot a call, in the
    order its engine version calls for, none while a member is busy), for a source whose reboot policy is immediate:
    the green serves no traffic before switchover. Returns what was rebooted."""
    green = source.model_copy(update={"cluster_id": green_id})
    return advance_reboot(rds, green, expected=(), rebooted=(), polls=0, max_polls=1).changes


def reboot_command(database: DatabaseFacts) -> str:
    """The owner's command that reboots every member (a Multi-AZ DB cluster reboots as a whole)."""
    if kind_of(database.kind).reboot == "whole-cluster":
        return f"aws rds reboot-db-cluster --db-cluster-identifier {database.identifier}"
    return " && ".join(f"aws rds reboot-db-instance --db-instance-identifier {member.instance_id}"
                       for member in database.members)  # fmt: skip
