"""Validate Request / Check Cluster Status: the request is well formed and the cluster can be onboarded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from pgaudit_archiver.aws.logs import SourceLogs
from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.consent import CONSENT_TAG_KEY, CONSENT_TAG_VALUE, Consent, consent_of, consented, tags_of
from pgaudit_archiver.errors import ClusterNotEligibleError, InvalidRequestError, WaitTimeoutError
from pgaudit_archiver.models import (
    ClusterFacts,
    ClusterMember,
    OffboardRequest,
    OnboardRequest,
    ResolvedRequest,
    Source,
    ValidationResult,
    WorkflowSettings,
)
from pgaudit_archiver.naming import log_group_arn
from pgaudit_archiver.settings import RegionSettings, RequestDefaultsSettings, ValidateRequestSettings
from pgaudit_archiver.steps.parameter_group import refuse_overrides

SourceRequest = TypeVar("SourceRequest", OnboardRequest, OffboardRequest)
ENGINE = "aurora-postgresql"
READY_STATUSES = frozenset({"available"})
# Statuses a cluster passes through on its own; the workflow waits for them to end.
TRANSITIONAL_STATUSES = frozenset(
    {
        "creating", "modifying", "backing-up", "maintenance", "renaming", "resetting-master-credentials",
        "upgrading", "starting", "failing-over", "storage-optimization", "update-iam-db-auth", "backtracking",
        "promoting",
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
        raise InvalidRequestError(
            f"region is {request.region} but this stack runs in {settings.region}; a CloudWatch Logs "
            "destination must be in the log group's region",
            remedy=f"start the {action} in the pgaudit-archiver stack deployed in {request.region}",
        )
    return request


def parse_request(raw: Any, settings: RequestDefaultsSettings) -> ResolvedRequest:
    """Validate the raw execution input and fill in the deployment's defaults."""
    request = parse_source_request(OnboardRequest, raw, settings, "onboarding")
    return ResolvedRequest(
        account_id=request.account_id,
        region=request.region,
        cluster_id=request.cluster_id,
        pgaudit_log=request.pgaudit_log or settings.default_pgaudit_log,
        reboot=request.reboot or settings.default_reboot,
        log_retention_days=request.log_retention_days or settings.default_log_retention_days,
        filter_pattern=request.filter_pattern or settings.default_filter_pattern,
        secret_arn=request.secret_arn,
        database=request.database,
        canary=settings.default_canary if request.canary is None else request.canary,
        revoke_plpgsql=request.revoke_plpgsql,
    )


def cluster_facts(cluster: dict[str, Any], polls: int) -> ClusterFacts:
    return ClusterFacts(
        arn=cluster["DBClusterArn"],
        status=cluster["Status"],
        ready=cluster["Status"] in READY_STATUSES,
        engine_version=cluster.get("EngineVersion", ""),
        parameter_group=cluster["DBClusterParameterGroup"],
        http_endpoint_enabled=bool(cluster.get("HttpEndpointEnabled")),
        master_secret_arn=(cluster.get("MasterUserSecret") or {}).get("SecretArn"),
        database_name=cluster.get("DatabaseName"),
        members=tuple(
            ClusterMember(
                instance_id=member["DBInstanceIdentifier"],
                is_writer=bool(member["IsClusterWriter"]),
                parameter_group_status=member.get("DBClusterParameterGroupStatus", "in-sync"),
            )
            for member in cluster.get("DBClusterMembers", [])
        ),
        polls=polls,
    )


def eligible_cluster(rds: SourceRds, source: Source) -> dict[str, Any]:
    """The cluster's description, or ClusterNotEligibleError: missing, another engine, or a status it will not leave
    on its own."""
    cluster = rds.describe_cluster(source.cluster_id)
    if cluster is None:
        raise ClusterNotEligibleError(
            f"no DB cluster named {source.cluster_id} exists in account {source.account_id}, region {source.region}",
            aws_error_code="DBClusterNotFoundFault",
            remedy="check the cluster_id, account_id and region",
        )
    if cluster.get("Engine") != ENGINE:
        raise ClusterNotEligibleError(
            f"the cluster's engine is {cluster.get('Engine')}, not {ENGINE}; pgaudit exists only for PostgreSQL",
            remedy="onboard Aurora PostgreSQL clusters only",
        )
    status = cluster["Status"]
    if status not in READY_STATUSES | TRANSITIONAL_STATUSES:
        raise ClusterNotEligibleError(f"the cluster is {status}", remedy="onboard it again once it is available")
    return cluster


def database_consent(cluster: dict[str, Any], logs: SourceLogs, source: Source, partition: str) -> Consent:
    """Both of the owner's marks (consent.py), read from the cluster's TagList and the log group's tags."""
    return consent_of(cluster, logs.log_group_tags(log_group_arn(partition, source)), source)


def require_consent(consent: Consent) -> None:
    if not consent.complete:
        raise ClusterNotEligibleError(consent.explanation(), remedy=consent.remedy())


def require_reboot_consent(rds: SourceRds, cluster: dict[str, Any]) -> None:
    """An immediate reboot needs the owner's tag on each instance: IAM authorizes RebootDBInstance on the instance's
    own tags, never its cluster's."""
    unmarked = [
        instance["DBInstanceArn"]
        for member in cluster.get("DBClusterMembers", [])
        if not consented(tags_of((instance := rds.describe_instance(member["DBInstanceIdentifier"])).get("TagList")))
    ]
    if unmarked:
        commands = [f"aws rds add-tags-to-resource --resource-name {arn} --tags Key={CONSENT_TAG_KEY},"
                    f"Value={CONSENT_TAG_VALUE}" for arn in unmarked]  # fmt: skip
        raise ClusterNotEligibleError(
            f"reboot immediate needs the owner's consent on each instance; not tagged {CONSENT_TAG_KEY}="
            f"{CONSENT_TAG_VALUE}: {', '.join(unmarked)}",
            remedy="the owner tags them with: " + " && ".join(commands) + ", or onboard with reboot deferred",
        )


def check_cluster(cluster: dict[str, Any], polls: int, max_polls: int) -> ClusterFacts:
    facts = cluster_facts(cluster, polls + 1)
    if not facts.ready and facts.polls > max_polls:
        raise WaitTimeoutError(
            f"the cluster stayed {facts.status} for {max_polls} polls", remedy="onboard it again once it is available"
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
    cluster = eligible_cluster(rds, request.source)
    # Before anything is created in either account: without the owner's consent the source role may change nothing.
    require_consent(database_consent(cluster, logs_for(request.source), request.source, settings.partition))
    if request.reboot == "immediate":
        require_reboot_consent(rds, cluster)
    facts = check_cluster(cluster, polls, settings.max_polls)
    if facts.ready:
        refuse_overrides(rds, request, facts)
    return ValidationResult(
        request=request,
        cluster=facts,
        workflow=WorkflowSettings(poll_interval_seconds=settings.poll_interval_seconds, max_polls=settings.max_polls),
    )
