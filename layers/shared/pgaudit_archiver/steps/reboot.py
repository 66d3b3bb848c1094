"""Reboot Instances: one reboot per call, in the order the engine version calls for, until every member is in sync.

Each call does at most one reboot and returns; the state machine waits between calls. On Aurora PostgreSQL 11, and
12.13, 13.9, 14.6 or lower, rebooting the writer reboots every reader too (Aurora User Guide, "Rebooting an Aurora
cluster without read availability"), so there the writer goes first and takes the readers with it; on newer versions
readers survive a writer reboot, so they go first, one at a time, then the writer. Either way no instance reboots
twice for one change, and an instance still waiting after MAX_REBOOTS_PER_INSTANCE reboots stops the loop.

A Multi-AZ DB cluster is rebooted as a whole: "When you associate a new DB cluster parameter group with a running
Multi-AZ DB cluster, reboot the DB cluster" (CreateDBClusterParameterGroup, RDS API reference), with RebootDBCluster,
which serves only Multi-AZ DB clusters. A DB instance is its own only member: one RebootDBInstance.
"""

from __future__ import annotations

import re

from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.errors import ClusterNotEligibleError, WaitTimeoutError
from pgaudit_archiver.kinds import kind_of
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
    database = rds.database(source)
    if database is None:
        raise ClusterNotEligibleError(
            f"the {kind_of(source.kind).short_noun()} {source.cluster_id} disappeared while rebooting"
        )
    mode = kind_of(database.kind).reboot
    version = database.engine_version
    takes_readers = mode == "each-member" and writer_reboots_readers(version)
    # The member to reboot first first.
    members = sorted(database.members, key=lambda member: member.is_writer != takes_readers)
    instances = {member.instance_id: rds.instance(member.instance_id) for member in members}
    busy = [
        name
        for name, instance in instances.items()
        if instance is not None and instance.status not in SETTLED_INSTANCE_STATUSES
    ]
    busy += [m.instance_id for m in members if m.parameter_group_status == "applying"]
    if mode == "whole-cluster" and database.status not in SETTLED_INSTANCE_STATUSES:
        busy.append(database.identifier)
    pending = tuple(
        m.instance_id
        for m in members
        if m.parameter_group_status == "pending-reboot" or (m.instance_id in expected and m.instance_id not in rebooted)
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
    if mode == "whole-cluster":
        rds.reboot_cluster(database.identifier)
        every = tuple(m.instance_id for m in members)
        return RebootResult(
            ready=False,
            rebooted=(*rebooted, *every),
            pending_reboot=pending,
            changes=(f"rebooted Multi-AZ DB cluster {database.identifier} (its instances {', '.join(every)})",),
            polls=polls + 1,
        )
    rds.reboot_instance(target)
    writer = next((m for m in members if m.instance_id == target and m.is_writer), None)
    readers = tuple(m.instance_id for m in members if not m.is_writer)
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
