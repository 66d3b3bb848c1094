"""Configure Parameter Group: pgaudit in shared_preload_libraries and pgaudit.log, in a group of this cluster's own.

The workflow never modifies a group it did not create: a default group cannot be modified, a custom one may be
shared with other clusters or managed by its owner's tooling, and the source role may modify only pgaudit-*
groups. The cluster gets `pgaudit-<cluster>`, created from the family's defaults or copied from its custom
group (keeping every setting), and offboarding re-attaches the original.
"""

from __future__ import annotations

from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.errors import ClusterNotEligibleError, ResourceConflictError
from pgaudit_archiver.models import ClusterFacts, ParameterGroupResult, ResolvedRequest
from pgaudit_archiver.naming import parameter_group_name, source_tags

PRELOAD = "shared_preload_libraries"
PGAUDIT_LOG = "pgaudit.log"
LIBRARY = "pgaudit"


def with_library(libraries: str | None, library: str = LIBRARY) -> str:
    """Add `library` to a shared_preload_libraries value, keeping every library already there, in order."""
    present = [item.strip() for item in (libraries or "").split(",") if item.strip()]
    return ",".join(present if library in present else [*present, library])


def _group_for_cluster(rds: SourceRds, request: ResolvedRequest, current: str) -> tuple[str, list[str]]:
    """The group to configure: `pgaudit-<cluster>`, made now from the cluster's current group if need be."""
    ours = parameter_group_name(request.cluster_id)
    if current == ours:
        return current, []
    if current.startswith("default."):
        copy_from = None  # a default group cannot be modified; start from the family's defaults
        reason = f"{current} cannot be modified"
    else:
        copy_from = current  # every setting of the owner's group, which itself stays as it is
        reason = f"{current} stays as its owner set it"

    changes = []
    existing = rds.describe_parameter_group(ours)
    if existing is None:
        description = f"pgaudit-archiver: {request.cluster_id}, based on {current}"
        tags = source_tags(request.source)
        if copy_from:
            rds.copy_parameter_group(copy_from, ours, description, tags)
        else:
            family = (rds.describe_parameter_group(current) or {}).get("DBParameterGroupFamily")
            if not family:
                raise ClusterNotEligibleError(f"cannot read the family of parameter group {current}")
            rds.create_parameter_group(ours, family, description, tags)
        changes.append(f"created parameter group {ours} because {reason}")
    elif "pgaudit-archiver" not in existing.get("Description", ""):
        raise ResourceConflictError(
            f"parameter group {ours} exists and was not made by pgaudit-archiver",
            remedy=f"rename or delete {ours}, or attach it to {request.cluster_id} yourself",
        )
    rds.attach_parameter_group(request.cluster_id, ours)
    return ours, [*changes, f"attached {ours} to {request.cluster_id}"]


def configure_parameter_group(rds: SourceRds, request: ResolvedRequest, cluster: ClusterFacts) -> ParameterGroupResult:
    original_group = cluster.parameter_group
    original = rds.parameter_values(original_group, {PRELOAD, PGAUDIT_LOG})
    group, changes = _group_for_cluster(rds, request, original_group)
    values = original if group == original_group else rds.parameter_values(group, {PRELOAD, PGAUDIT_LOG})

    updates = []
    libraries = with_library(values[PRELOAD])
    if libraries != values[PRELOAD]:
        updates.append({"ParameterName": PRELOAD, "ParameterValue": libraries, "ApplyMethod": "pending-reboot"})
        changes.append(f"{PRELOAD} = {libraries} in {group}")
    if values[PGAUDIT_LOG] != request.pgaudit_log:
        updates.append(
            {"ParameterName": PGAUDIT_LOG, "ParameterValue": request.pgaudit_log, "ApplyMethod": "immediate"}
        )
        changes.append(f"{PGAUDIT_LOG} = {request.pgaudit_log} in {group}")
    if updates:
        rds.modify_parameters(group, updates)

    # A new group or a new preload list takes effect only at reboot; so does one changed by an earlier run.
    needs_reboot = group != original_group or libraries != values[PRELOAD]
    pending = tuple(
        member.instance_id for member in cluster.members if needs_reboot or member.parameter_group_status != "in-sync"
    )
    return ParameterGroupResult(
        resources={"parameter_group": group},
        changes=tuple(changes),
        parameter_group=group,
        original_parameter_group=original_group,
        original_shared_preload_libraries=original[PRELOAD],
        original_pgaudit_log=original[PGAUDIT_LOG],
        reboot_required=bool(pending),
        pending_reboot=pending,
    )
