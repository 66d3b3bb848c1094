"""The offboarding steps: undo what onboarding made, in reverse, never touching the archived objects.

Every step is idempotent: what is already gone counts as done, so a failed offboarding can be run again. Where the
owner has withdrawn consent (consent.py) the source role may change nothing there: the step names the owner's
command for what is left in the source account, and the archive's side is removed all the same.
"""

from __future__ import annotations

from typing import Any

from pgaudit_archiver.aws.firehose import ArchiveFirehose
from pgaudit_archiver.aws.iam import ArchiveIam
from pgaudit_archiver.aws.logs import ArchiveLogs, SourceLogs
from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.aws.role_holders import RoleHolders
from pgaudit_archiver.consent import consented
from pgaudit_archiver.errors import WaitTimeoutError
from pgaudit_archiver.kinds import DatabaseKind, kind_of
from pgaudit_archiver.models import (
    AnyOffboardRequest,
    InstanceOffboardRequest,
    Model,
    OffboardRequest,
    Source,
    StepResult,
    names_a_db_instance,
)
from pgaudit_archiver.naming import (
    LOG_TYPE,
    SUBSCRIPTION_FILTER_NAME,
    delivery_stream_name,
    destination_name,
    log_group_arn,
    parameter_group_name,
    source_log_group,
)
from pgaudit_archiver.settings import ArchiveAccountSettings, ValidateOffboardingSettings
from pgaudit_archiver.status import SourceStatus
from pgaudit_archiver.steps.destination import destination_arn
from pgaudit_archiver.steps.destination_role import release_destination_role, retire_legacy_role, retire_source_role
from pgaudit_archiver.steps.parameter_group import family_of, our_group_for
from pgaudit_archiver.steps.validate import parse_source_request


class OffboardPlan(Model):
    request: AnyOffboardRequest
    original_parameter_group: str | None
    workflow: dict[str, int]


def plan_offboarding(raw: Any, settings: ValidateOffboardingSettings, registry: Registry) -> OffboardPlan:
    request: AnyOffboardRequest
    if names_a_db_instance(raw):
        request = parse_source_request(InstanceOffboardRequest, raw, settings, "offboarding")
    else:
        request = parse_source_request(OffboardRequest, raw, settings, "offboarding")
    item = registry.get(request.source) or {}
    return OffboardPlan(
        request=request,
        original_parameter_group=(item.get("original") or {}).get("parameter_group"),
        workflow={
            "poll_interval_seconds": settings.poll_interval_seconds,
            "max_polls": settings.max_polls,
            "flush_wait_seconds": settings.flush_wait_seconds,
        },
    )


def remove_subscription_filter(logs: SourceLogs, settings: ArchiveAccountSettings, source: Source) -> StepResult:
    """Ours is the filter with our name or our destination; every other filter stays."""
    group = source_log_group(source)
    ours = destination_arn(settings, destination_name(source))
    found_ours = [
        found["filterName"]
        for found in logs.subscription_filters(group)
        if found["filterName"] == SUBSCRIPTION_FILTER_NAME or found.get("destinationArn") == ours
    ]
    if found_ours and not consented(logs.log_group_tags(log_group_arn(settings.partition, source))):
        return StepResult(changes=tuple(
            f"left for the owner, who withdrew consent from {group}: aws logs delete-subscription-filter "
            f"--region {source.region} --log-group-name {group} --filter-name {name}"
            for name in found_ours
        ))  # fmt: skip
    for name in found_ours:
        logs.delete_subscription_filter(group, name)
    return StepResult(changes=tuple(f"removed subscription filter {name} from {group}" for name in found_ours))


def restore_cluster(
    rds: SourceRds, source: Source, original_group: str | None, done: tuple[str, ...], polls: int, max_polls: int
) -> StepResult:
    """Disable the postgresql export and put the cluster back on its original parameter group, one modification
    per call (`done`: what earlier calls changed; the state machine waits between calls)."""
    result = _restore_next(rds, source, original_group, polls, max_polls)
    return result.model_copy(update={"changes": (*done, *result.changes)})


def _restore_next(rds: SourceRds, source: Source, original_group: str | None, polls: int, max_polls: int) -> StepResult:
    cluster = rds.database(source)
    noun = kind_of(source.kind).short_noun()
    if cluster is None:
        return StepResult(changes=(f"{noun} {source.cluster_id} no longer exists: nothing to restore",))
    kind = cluster.kind
    if not consented(cluster.tags):
        command = "modify-db-cluster" if kind_of(kind).is_cluster else "modify-db-instance"
        return StepResult(changes=(
            f"left for the owner, who withdrew consent from {source.cluster_id}: its log export and parameter group "
            "as they are (disable the postgresql export and re-attach the original group with aws rds "
            f"{command} if pgaudit should go)",
        ))  # fmt: skip
    if not cluster.ready:
        if polls + 1 > max_polls:
            raise WaitTimeoutError(f"the {noun} stayed {cluster.status} for {max_polls} polls")
        return StepResult(ready=False, polls=polls + 1)
    changes = []
    if LOG_TYPE in cluster.exported_log_types:
        rds.disable_log_export(source.cluster_id, LOG_TYPE, kind)
        changes.append(f"disabled the {LOG_TYPE} log export of {source.cluster_id}")
        return StepResult(ready=False, changes=tuple(changes), polls=polls)  # one modification at a time
    current = cluster.parameter_group
    family = family_of(rds, current, kind)
    ours = our_group_for(rds, source.cluster_id, family, kind)[0]
    if current == ours:
        original = original_group or _based_on(rds, ours, kind)
        if original is None:
            return StepResult(changes=(f"kept {ours}: the original parameter group is not known",))
        restored, why = original, ""
        original_family = (rds.describe_parameter_group(original, kind) or {}).get("DBParameterGroupFamily")
        if original_family != family:  # upgraded since onboarding (or the original is gone): RDS would refuse it
            restored = f"default.{family}"
            why = f" instead of {original}, which is of family {original_family or 'unknown (deleted)'}"
        rds.attach_parameter_group(source.cluster_id, restored, kind)
        return StepResult(
            ready=False,
            changes=(f"re-attached {restored} to {source.cluster_id}{why}; pgaudit unloads at the instances' next "
                     "reboot",),
            polls=polls,
        )  # fmt: skip
    for group in dict.fromkeys((parameter_group_name(source.cluster_id), ours)):
        if group != current and rds.describe_parameter_group(group, kind) is not None:
            deleted = rds.delete_parameter_group(group, kind)
            changes.append(f"deleted parameter group {group}" if deleted else f"kept parameter group {group}: in use")
    return StepResult(changes=tuple(changes), polls=polls)


def _based_on(rds: SourceRds, ours: str, kind: DatabaseKind) -> str | None:
    """Our group's description names the group it was made from: `pgaudit-archiver: <cluster>, based on <group>`."""
    description = (rds.describe_parameter_group(ours, kind) or {}).get("Description", "")
    return description.rsplit("based on ", 1)[1].strip() if "based on " in description else None


def delete_destination(
    logs: ArchiveLogs, iam: ArchiveIam, holders: RoleHolders, settings: ArchiveAccountSettings, source: Source
) -> StepResult:
    """The destination, then the roles it may have delivered with: the source's own (earlier versions), the one
    named before names carried the region when it is this region's, and the account's shared role when this was
    its last holder (steps/destination_role.py)."""
    changes = []
    name = destination_name(source)
    if logs.describe_destination(name) is not None:
        logs.delete_destination(name)
        changes.append(f"deleted destination {name}")
    changes += retire_source_role(iam, settings, source)
    changes += retire_legacy_role(iam, settings, source)
    changes += release_destination_role(iam, holders, logs, settings, source)
    return StepResult(changes=tuple(changes))


def delete_delivery_stream(firehose: ArchiveFirehose, source: Source) -> StepResult:
    name = delivery_stream_name(source)
    stream = firehose.describe_stream(name)
    if stream is None:
        return StepResult()
    if stream["DeliveryStreamStatus"] in {"DELETING", "DELETING_FAILED"}:
        return StepResult(changes=(f"delivery stream {name} is already {stream['DeliveryStreamStatus']}",))
    firehose.delete_stream(name)  # False when it went meanwhile: deleted all the same
    return StepResult(changes=(f"deleted delivery stream {name} (its archived objects stay)",))


class OffboardingSummary(Model):
    source: Source
    status: SourceStatus
    changes: tuple[str, ...]


def summarize_offboarding(
    registry: Registry, request: AnyOffboardRequest, steps: list[StepResult]
) -> OffboardingSummary:
    changes = tuple(change for step in steps for change in step.changes)
    registry.finish(
        request.source, SourceStatus.OFFBOARDED, {"last_changes": list(changes), "resources": {}, "pending": []}
    )
    return OffboardingSummary(source=request.source, status=SourceStatus.OFFBOARDED, changes=changes)
