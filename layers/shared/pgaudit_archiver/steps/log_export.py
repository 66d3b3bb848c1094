"""Enable Log Export: the postgresql log group's retention, then the database's export into it (ModifyDBCluster for
either kind of DB cluster, ModifyDBInstance for a DB instance: aws/rds.py).

The log group is the owner's: it exists, tagged with their consent, before onboarding starts (consent.py). RDS
exports into an existing group as it is, so our retention applies from the first line."""

from __future__ import annotations

from pgaudit_archiver.aws.logs import SourceLogs
from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.errors import ClusterNotEligibleError, WaitTimeoutError
from pgaudit_archiver.kinds import kind_of
from pgaudit_archiver.models import ResolvedRequest, StepResult
from pgaudit_archiver.naming import LOG_TYPE, source_log_group


def ensure_log_group(logs: SourceLogs, request: ResolvedRequest) -> tuple[str, list[str]]:
    """Raise the group's retention to the request's; never lower a longer one, never shorten "never expires"."""
    name = source_log_group(request.source)
    group = logs.describe_log_group(name)
    if group is None:
        raise ClusterNotEligibleError(
            f"the log group {name} was deleted during onboarding",
            remedy=f"the owner creates it again with the tag pgaudit-archiver=enabled and onboards {request.cluster_id}"
            " again",
        )
    current_retention = group.get("retentionInDays")
    if current_retention is None or current_retention >= request.log_retention_days:
        return name, []
    logs.put_retention(name, request.log_retention_days)
    return name, [f"retention of {name} = {request.log_retention_days} days"]


def enable_log_export(
    rds: SourceRds, logs: SourceLogs, request: ResolvedRequest, polls: int, max_polls: int
) -> StepResult:
    log_group, changes = ensure_log_group(logs, request)
    database = rds.database(request.source)
    noun = kind_of(request.kind).short_noun()
    if database is None:
        raise ClusterNotEligibleError(f"the {noun} {request.cluster_id} disappeared during onboarding")
    resources = {"log_group": log_group}
    if LOG_TYPE in database.exported_log_types:
        return StepResult(resources=resources, changes=tuple(changes), polls=polls)
    if not database.ready:
        # Another modification (the parameter group attached just now) is still being applied.
        if polls + 1 > max_polls:
            raise WaitTimeoutError(f"the {noun} stayed {database.status} for {max_polls} polls")
        return StepResult(ready=False, resources=resources, changes=tuple(changes), polls=polls + 1)
    rds.enable_log_export(request.cluster_id, LOG_TYPE, database.kind)
    return StepResult(
        resources=resources,
        changes=(*changes, f"enabled the {LOG_TYPE} log export of {request.cluster_id}"),
        polls=polls,
    )
