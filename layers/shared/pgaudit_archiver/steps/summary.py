"""Summarize Onboarding: every resource, what changed, what is pending and what the user must still do."""

from __future__ import annotations

from typing import Any

from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.kinds import kind_of
from pgaudit_archiver.models import (
    DatabaseFacts,
    ExtensionResult,
    Model,
    OnboardingSummary,
    ParameterGroupResult,
    RebootResult,
    ResolvedRequest,
    RoleResult,
    Source,
    StepResult,
)
from pgaudit_archiver.status import SourceStatus
from pgaudit_archiver.steps.database_user import CLUSTER_TAG
from pgaudit_archiver.steps.reboot import writer_reboots_readers


class OnboardingState(Model):
    """The execution state after the last step (what the state machine accumulated)."""

    request: ResolvedRequest
    cluster: DatabaseFacts
    delivery_stream: StepResult
    destination_role: RoleResult
    destination: StepResult
    parameter_group: ParameterGroupResult
    reboot: RebootResult
    extension: ExtensionResult
    log_export: StepResult
    subscription_filter: StepResult


class Renamed(Model):
    """The database had another identifier: reconciliation followed its rename to this source (`renamed_from`)."""

    from_identifier: str
    secret_arn: str | None = None  # the database user's secret the old identifier's onboarding ran with


def renamed_with_its_secret_untagged(registry: Registry, state: OnboardingState) -> Renamed | None:
    """For a renamed database whose secret was not found: its old identifier and the secret found by it then (still
    tagged with it: a rename does not touch the owner's secrets). None otherwise, without reading the registry."""
    if not state.extension.secret_untagged:
        return None
    source = state.request.source
    former = (registry.get(source) or {}).get("renamed_from")
    if not former:
        return None
    old = registry.get(source.model_copy(update={"cluster_id": former})) or {}
    return Renamed(from_identifier=former, secret_arn=(old.get("extension") or {}).get("secret_arn"))


def summarize(state: OnboardingState, renamed: Renamed | None = None) -> OnboardingSummary:
    steps: list[StepResult] = [
        state.delivery_stream,
        state.destination_role,
        state.destination,
        state.parameter_group,
        state.reboot,
        state.extension,
        state.log_export,
        state.subscription_filter,
    ]
    resources: dict[str, str] = {}
    changes: list[str] = []
    for step in steps:
        resources.update(step.resources)
        changes += step.changes
    changes += [f"rebooted {instance}" for instance in state.reboot.rebooted]

    pending: list[str] = []
    actions: list[str] = []
    if state.reboot.pending_reboot:
        instances = ", ".join(state.reboot.pending_reboot)
        pending.append(f"reboot of {instances} (pgaudit loads at the next reboot)")
        actions.append(f"{_reboot_advice(state.cluster, state.reboot.pending_reboot)}, then onboard again")
    if state.extension.plpgsql_kept_by_public:
        databases = ", ".join(state.extension.plpgsql_kept_by_public)
        pending.append(f"PUBLIC keeps USAGE on plpgsql in {databases}: the database user may not revoke it")
        actions.append(
            f"run `REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC;` in {databases} as the language's owner, or onboard "
            "with the function class in pgaudit_log, which audits every DO block"
        )
    if state.extension.status == "manual":
        # The pipeline delivers without the extension (DDL lines then lack the object's type and name): active,
        # with the SQL the owner runs (as a member of rds_superuser), or the database user that lets us run it.
        pending.append(f"CREATE EXTENSION pgaudit in {state.extension.database}: {state.extension.reason}")
        if state.extension.verification:  # a kind without the RDS Data API: only its owner can run the SQL
            actions.append(
                f"run `{state.extension.sql}` in database {state.extension.database} as a member of rds_superuser "
                f"(the master user, for example); {state.extension.verification}"
            )
        elif renamed is not None and renamed.secret_arn:
            actions.append(_retag_advice(state.request.source, renamed.from_identifier, renamed.secret_arn))
        else:
            actions.append(
                f"run `{state.extension.sql}` in database {state.extension.database} as a member of rds_superuser "
                "(the master user, for example), or let pgaudit-archiver run it (the RDS Data API on, and the "
                "database user of docs/deploy.md step 4, with its secret tagged pgaudit-archiver:database-user=true "
                f"and pgaudit-archiver:cluster={state.request.cluster_id}) and onboard again"
            )
    return OnboardingSummary(
        source=state.request.source,
        status=SourceStatus.PENDING_REBOOT if state.reboot.pending_reboot else SourceStatus.ACTIVE,
        resources=resources,
        changes=tuple(changes),
        pending=tuple(pending),
        actions_required=tuple(actions),
        extension=state.extension.record(),
    )


def _retag_advice(source: Source, former: str, secret_arn: str) -> str:
    """The owner's commands after a rename: its secret, found by its tag before, keeps the old identifier's tag
    (a resource holds one value per tag key: tagging the key again replaces it)."""
    instance = "" if kind_of(source.kind).is_cluster else " --instance"
    return (
        f"tag the database user's secret for the new identifier, so that pgaudit-archiver can check the extension "
        f"and send the canary again: the secret is still tagged {CLUSTER_TAG}={former}, the identifier before the "
        f"rename to {source.cluster_id}: `aws secretsmanager tag-resource --region {source.region} --secret-id "
        f"{secret_arn} --tags Key={CLUSTER_TAG},Value={source.cluster_id}`, then onboard it again: "
        f"`pgaudit-archiver --region {source.region} onboard {source.account_id} {source.cluster_id}{instance}`"
    )


def record_summary(registry: Registry, state: OnboardingState, summary: OnboardingSummary) -> None:
    """The registry item records the database by its resource id (its identity through renames). A name registered
    before for another database (deleted, or renamed away, and a restore or a new database took the name) is a new
    source: what the item held of the other database (its original settings, when it was deleted) is not kept."""
    group = state.parameter_group
    source = state.request.source
    original = {
        "parameter_group": group.original_parameter_group,
        "shared_preload_libraries": group.original_shared_preload_libraries,
        "pgaudit_log": group.original_pgaudit_log,
    }
    fields: dict[str, Any] = {
        "resources": summary.resources,
        "pending": list(summary.pending),
        "actions_required": list(summary.actions_required),
        "last_changes": list(summary.changes),
        "extension": summary.extension,
        "request": state.request.model_dump(mode="json"),
        "resource_id": state.cluster.resource_id,
        "identifier": state.cluster.identifier,
    }
    previous = (registry.get(source) or {}).get("resource_id")
    if previous and previous != state.cluster.resource_id:
        fields |= {"original": original, "previous_resource_id": previous, "deleted_at": None, "renamed_to": None}
        registry.finish(source, summary.status, fields)
        return
    # What the cluster had before pgaudit-archiver touched it, for offboarding to restore.
    registry.finish(source, summary.status, fields, keep_first={"original": original})


def _reboot_advice(cluster: DatabaseFacts, pending: tuple[str, ...]) -> str:
    """How to reboot so that no instance reboots twice: on the Aurora versions whose writer takes its readers
    down with it (Aurora User Guide, "Rebooting an Aurora cluster without read availability"), the writer alone."""
    if kind_of(cluster.kind).reboot == "whole-cluster":
        return (
            f"reboot the Multi-AZ DB cluster {cluster.identifier} in your maintenance window (aws rds "
            f"reboot-db-cluster --db-cluster-identifier {cluster.identifier})"
        )
    command = "(aws rds reboot-db-instance --db-instance-identifier <instance>)"
    writers = [member.instance_id for member in cluster.members if member.is_writer and member.instance_id in pending]
    if writers and writer_reboots_readers(cluster.engine_version):
        return (
            f"reboot the writer {writers[0]} in your maintenance window {command}; on Aurora PostgreSQL "
            f"{cluster.engine_version} its readers reboot with it"
        )
    return f"reboot {', '.join(pending)} in your maintenance window, readers first {command}"
