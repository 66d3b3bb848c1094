"""Validate Request / Check Cluster Status: the request is well formed and the database can be onboarded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from pgaudit_archiver.aws.logs import SourceLogs
from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.consent import CONSENT_TAG_KEY, CONSENT_TAG_VALUE, Consent, consent_of, consented
from pgaudit_archiver.errors import (
    ClusterNotEligibleError,
    InvalidRequestError,
    RegionNotArchivedError,
    WaitTimeoutError,
)
from pgaudit_archiver.kinds import AuroraCluster, MultiAzCluster, kind_of
from pgaudit_archiver.models import (
    DatabaseFacts,
    InstanceOffboardRequest,
    InstanceOnboardRequest,
    OffboardRequest,
    OnboardRequest,
    ResolvedRequest,
    Source,
    ValidationResult,
    WorkflowSettings,
    names_a_db_instance,
)
from pgaudit_archiver.naming import log_group_arn
from pgaudit_archiver.settings import RegionSettings, RequestDefaultsSettings, ValidateRequestSettings
from pgaudit_archiver.steps.parameter_group import refuse_overrides

SourceRequest = TypeVar(
    "SourceRequest", OnboardRequest, InstanceOnboardRequest, OffboardRequest, InstanceOffboardRequest
)
ENGINE = AuroraCluster.engine
READY_STATUSES = frozenset({"available"})
# Statuses a cluster passes through on its own; the workflow waits for them to end.
TRANSITIONAL_STATUSES = frozenset(
    {
        "creating", "modifying", "backing-up", "maintenance", "renaming", "resetting-master-credentials",
        "upgrading", "starting", "failing-over", "storage-optimization", "update-iam-db-auth", "backtracking",
        "promoting", "rebooting", "configuring-log-exports",
    }
)  # fmt: skip


def describe_validation_errors(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "request"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "is not a known field"
        elif item["type"] == "string_pattern_mismatch":
            message = f"has an invalid format ({item['input']!r})"
        problems.append(f"{field} {message}")
    return "; ".join(problems)


def parse_source_request(model: type[SourceRequest], raw: Any, settings: RegionSettings, action: str) -> SourceRequest:
    """A request for one cluster of this stack's region, or InvalidRequestError naming each bad field."""
    if not isinstance(raw, dict):
        raise InvalidRequestError(f"the {action} request must be a JSON object", remedy="see events/")
    try:
        request = model.model_validate(raw)
    except ValidationError as error:
        raise InvalidRequestError(
            f"invalid {action} request: {describe_validation_errors(error)}",
            remedy="correct the named fields and start a new execution",
        ) from error
    if request.region != settings.region:
        raise RegionNotArchivedError(
            f"region is {request.region} but this stack runs in {settings.region}; a CloudWatch Logs "
            "destination must be in the log group's region, so a database in another region (a global database's "
            "secondary cluster, say) is a source of that region's stack",
            remedy=f"start the {action} in the pgaudit-archiver stack deployed in {request.region} (deploy one there "
            "first if there is none: docs/deploy.md)",
        )
    return request


def parse_request(raw: Any, settings: RequestDefaultsSettings) -> ResolvedRequest:
    """Validate the raw execution input and fill in the deployment's defaults."""
    request: OnboardRequest | InstanceOnboardRequest
    if names_a_db_instance(raw):
        request = parse_source_request(InstanceOnboardRequest, raw, settings, "onboarding")
    else:
        request = parse_source_request(OnboardRequest, raw, settings, "onboarding")
    return ResolvedRequest(
        account_id=request.account_id,
        region=request.region,
        cluster_id=request.database_id,
        kind=request.namespace_kind,
        pgaudit_log=request.pgaudit_log or settings.default_pgaudit_log,
        reboot=request.reboot or settings.default_reboot,
        log_retention_days=request.log_retention_days or settings.default_log_retention_days,
        filter_pattern=request.filter_pattern or settings.default_filter_pattern,
        secret_arn=request.secret_arn,
        database=request.database,
        canary=settings.default_canary if request.canary is None else request.canary,
        revoke_plpgsql=request.revoke_plpgsql,
    )


def _not_found(rds: SourceRds, source: Source) -> ClusterNotEligibleError:
    where = f"in account {source.account_id}, region {source.region}"
    if kind_of(source.kind).is_cluster:
        return ClusterNotEligibleError(
            f"no DB cluster named {source.cluster_id} exists {where}",
            aws_error_code="DBClusterNotFoundFault",
            remedy="check the cluster_id, account_id and region; for a DB instance give instance_id instead",
        )
    instance = rds.instance(source.cluster_id)
    if instance is not None and instance.cluster_id:
        return ClusterNotEligibleError(
            f"DB instance {source.cluster_id} is a member of DB cluster {instance.cluster_id}, whose DB cluster "
            "parameter group and log export hold its settings",
            remedy=f"onboard the cluster: cluster_id={instance.cluster_id}",
        )
    return ClusterNotEligibleError(
        f"no DB instance named {source.cluster_id} exists {where}",
        aws_error_code="DBInstanceNotFound",
        remedy="check the instance_id, account_id and region; for a DB cluster give cluster_id instead",
    )


def eligible_database(rds: SourceRds, source: Source, polls: int = 0) -> DatabaseFacts:
    """The database's facts, or ClusterNotEligibleError: missing, another engine, or a status it will not leave on its
    own. A cluster source's kind (Aurora or Multi-AZ) is read from its engine."""
    database = rds.database(source, polls)
    if database is None:
        raise _not_found(rds, source)
    expected = kind_of(database.kind).engine
    if database.engine != expected:
        accepted = (
            f"{AuroraCluster.engine} (Aurora PostgreSQL) or {MultiAzCluster.engine} (Multi-AZ DB cluster)"
            if kind_of(database.kind).is_cluster
            else f"{expected} (RDS for PostgreSQL)"
        )
        noun = kind_of(database.kind).short_noun()
        raise ClusterNotEligibleError(
            f"the {noun}'s engine is {database.engine}, not {accepted}; pgaudit exists only for PostgreSQL",
            remedy="onboard PostgreSQL databases only",
        )
    if database.status not in READY_STATUSES | TRANSITIONAL_STATUSES:
        raise ClusterNotEligibleError(
            f"the {kind_of(database.kind).short_noun()} is {database.status}",
            remedy="onboard it again once it is available",
        )
    return database


def eligible_cluster(rds: SourceRds, source: Source) -> DatabaseFacts:
    return eligible_database(rds, source)


def database_consent(database: DatabaseFacts, logs: SourceLogs, source: Source, partition: str) -> Consent:
    """Both of the owner's marks (consent.py), read from the database's tags and the log group's."""
    return consent_of(database, logs.log_group_tags(log_group_arn(partition, source)), source)


def require_consent(consent: Consent) -> None:
    if not consent.complete:
        raise ClusterNotEligibleError(consent.explanation(), remedy=consent.remedy())


def require_reboot_consent(rds: SourceRds, database: DatabaseFacts) -> None:
    """An immediate reboot needs the owner's tag on what is rebooted: IAM authorizes RebootDBInstance on the
    instance's own tags, never its cluster's; RebootDBCluster (Multi-AZ) on the cluster's, already checked."""
    if kind_of(database.kind).reboot == "whole-cluster":
        return
    unmarked = []
    for member in database.members:
        instance = rds.instance(member.instance_id)
        if instance is not None and not consented(instance.tags):
            unmarked.append(instance.arn)
    if unmarked:
        commands = [f"aws rds add-tags-to-resource --resource-name {arn} --tags Key={CONSENT_TAG_KEY},"
                    f"Value={CONSENT_TAG_VALUE}" for arn in unmarked]  # fmt: skip
        raise ClusterNotEligibleError(
            f"reboot immediate needs the owner's consent on each instance; not tagged {CONSENT_TAG_KEY}="
            f"{CONSENT_TAG_VALUE}: {', '.join(unmarked)}",
            remedy="the owner tags them with: " + " && ".join(commands) + ", or onboard with reboot deferred",
        )


def check_cluster(database: DatabaseFacts, polls: int, max_polls: int) -> DatabaseFacts:
    facts = database.model_copy(update={"polls": polls + 1})
    if not facts.ready and facts.polls > max_polls:
        raise WaitTimeoutError(
            f"the {kind_of(facts.kind).short_noun()} stayed {facts.status} for {max_polls} polls",
            remedy="onboard it again once it is available",
        )
    return facts


def validate(
    raw_request: Any,
    polls: int,
    settings: ValidateRequestSettings,
    rds_for: Callable[[Source], SourceRds],
    logs_for: Callable[[Source], SourceLogs],
) -> ValidationResult:
    request = parse_request(raw_request, settings)
    rds = rds_for(request.source)
    database = eligible_database(rds, request.source)
    # Which kind of DB cluster it is is read from the cluster, never asked of the caller.
    request = request.model_copy(update={"kind": database.kind})
    # Before anything is created in either account: without the owner's consent the source role may change nothing.
    require_consent(database_consent(database, logs_for(request.source), request.source, settings.partition))
    if request.reboot == "immediate":
        require_reboot_consent(rds, database)
    facts = check_cluster(database, polls, settings.max_polls)
    if facts.ready:
        refuse_overrides(rds, request, facts)
    return ValidationResult(
        request=request,
        cluster=facts,
        workflow=WorkflowSettings(poll_interval_seconds=settings.poll_interval_seconds, max_polls=settings.max_polls),
    )
