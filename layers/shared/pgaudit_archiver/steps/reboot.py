"""Reboot Instances: one instance at a time, readers before the writer, until every member is in sync.

Each call does at most one reboot and returns; the state machine waits between calls.
"""

from __future__ import annotations

from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.errors import ClusterNotEligibleError, WaitTimeoutError
from pgaudit_archiver.models import RebootResult, Source

SETTLED_INSTANCE_STATUSES = frozenset({"available"})


def advance_reboot(
    rds: SourceRds, source: Source, expected: tuple[str, ...], rebooted: tuple[str, ...], polls: int, max_polls: int
) -> RebootResult:
    cluster = rds.describe_cluster(source.cluster_id)
    if cluster is None:
        raise ClusterNotEligibleError(f"the cluster {source.cluster_id} disappeared while rebooting")
    members = sorted(cluster.get("DBClusterMembers", []), key=lambda member: bool(member["IsClusterWriter"]))
    statuses = {
        member["DBInstanceIdentifier"]: rds.describe_instance(member["DBInstanceIdentifier"]) for member in members
    }
    busy = [
        name for name, instance in statuses.items() if instance["DBInstanceStatus"] not in SETTLED_INSTANCE_STATUSES
    ]
    busy += [m["DBInstanceIdentifier"] for m in members if m.get("DBClusterParameterGroupStatus") == "applying"]
    pending = tuple(
        m["DBInstanceIdentifier"]
        for m in members
        if m.get("DBClusterParameterGroupStatus") == "pending-reboot"
        or (m["DBInstanceIdentifier"] in expected and m["DBInstanceIdentifier"] not in rebooted)
    )
    if not pending and not busy:
        return RebootResult(rebooted=rebooted, polls=polls)
    if polls + 1 > max_polls:
        raise WaitTimeoutError(
            f"instances {', '.join(busy or pending)} did not finish rebooting within {max_polls} polls",
            remedy="check the instances in the RDS console, then onboard again",
        )
    if busy:
        return RebootResult(ready=False, rebooted=rebooted, pending_reboot=pending, polls=polls + 1)
    target = pending[0]  # members are sorted readers first
    rds.reboot_instance(target)
    return RebootResult(
        ready=False,
        rebooted=(*rebooted, target),
        pending_reboot=pending,
        changes=(f"rebooted {target}",),
        polls=polls + 1,
    )
