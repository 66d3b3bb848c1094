"""Reboot Instances: one reboot per call, in the order the engine version calls for, until every member is in sync.

Each call does at most one reboot and returns; the state machine waits between calls. On Aurora PostgreSQL 11, and
12.13, 13.9, 14.6 or lower, rebooting the writer reboots every reader too (Aurora User Guide, "Rebooting an Aurora
cluster without read availability"), so there the writer goes first and takes the readers with it; on newer versions
readers survive a writer reboot, so they go first, one at a time, then the writer. Either way no instance reboots
twice for one change, and an instance still waiting after MAX_REBOOTS_PER_INSTANCE reboots stops the loop.
"""

from __future__ import annotations

import re
from typing import Any

from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.errors import ClusterNotEligibleError, WaitTimeoutError
from pgaudit_archiver.models import RebootResult, Source

SETTLED_INSTANCE_STATUSES = frozenset({"available"})
MAX_REBOOTS_PER_INSTANCE = 2
# The newest minor version of each major whose writer reboot still reboots the readers (Aurora User Guide); every
# major version below the lowest listed behaves so too.
LAST_WITHOUT_READ_AVAILABILITY = {12: 13, 13: 9, 14: 6}
OLDEST_WITH_READ_AVAILABILITY = 12


def writer_reboots_readers(engine_version: str) -> bool:
    """Whether rebooting the writer of an Aurora PostgreSQL cluster of this version reboots its readers too. An
    unreadable version counts as new: readers first is then at worst one reboot too many, never a missed one."""
    match = re.match(r"(\d+)(?:\.(\d+))?", engine_version or "")
    if match is None:
        return False
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    if major < OLDEST_WITH_READ_AVAILABILITY:
        return True
    return major in LAST_WITHOUT_READ_AVAILABILITY and minor <= LAST_WITHOUT_READ_AVAILABILITY[major]


def advance_reboot(
    rds: SourceRds, source: Source, expected: tuple[str, ...], rebooted: tuple[str, ...], polls: int, max_polls: int
) -> RebootResult:
    cluster = rds.describe_cluster(source.cluster_id)
    if cluster is None:
        raise ClusterNotEligibleError(f"the cluster {source.cluster_id} disappeared while rebooting")
    version = str(cluster.get("EngineVersion", ""))
    takes_readers = writer_reboots_readers(version)
    members: list[dict[str, Any]] = sorted(
        cluster.get("DBClusterMembers", []),
        key=lambda member: bool(member["IsClusterWriter"]) != takes_readers,  # the member to reboot first first
    )
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
    target = pending[0]
    if rebooted.count(target) >= MAX_REBOOTS_PER_INSTANCE:
        raise WaitTimeoutError(
            f"instance {target} still waits for a reboot after {MAX_REBOOTS_PER_INSTANCE} reboots "
            f"(its parameter group status does not clear)",
            remedy=f"look at {target}'s parameter groups in the RDS console, reboot it yourself once they are "
            "in-sync, then onboard again",
        )
    rds.reboot_instance(target)
    writer = next((m for m in members if m["DBInstanceIdentifier"] == target and m["IsClusterWriter"]), None)
    readers = tuple(m["DBInstanceIdentifier"] for m in members if not m["IsClusterWriter"])
    if writer is not None and takes_readers and readers:
        change = (
            f"rebooted {target}, the writer; on Aurora PostgreSQL {version} its readers "
            f"{', '.join(readers)} reboot with it"
        )
        return RebootResult(
            ready=False,
            rebooted=(*rebooted, target, *readers),
            pending_reboot=pending,
            changes=(change,),
            polls=polls + 1,
        )
    return RebootResult(
        ready=False,
        rebooted=(*rebooted, target),
        pending_reboot=pending,
        changes=(f"rebooted {target}",),
        polls=polls + 1,
    )
