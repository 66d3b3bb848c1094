"""Ensure Destination Role: the role CloudWatch Logs assumes to put the source's events into its stream."""

from __future__ import annotations

from typing import Any

from pgaudit_archiver.aws.iam import ArchiveIam
from pgaudit_archiver.models import Drift, RoleResult, Source
from pgaudit_archiver.naming import IAM_PATH, destination_role_name, legacy_destination_role_name, source_tags
from pgaudit_archiver.observability import logger
from pgaudit_archiver.settings import ArchiveAccountSettings, DestinationRoleSettings, RegionSettings

POLICY_NAME = "put-records-to-source-stream"
MANAGED_TAG, REGION_TAG = "pgaudit-archiver:managed", "pgaudit-archiver:source-region"


def destination_role_arn(settings: ArchiveAccountSettings, source: Source) -> str:
    return f"arn:{settings.partition}:iam::{settings.archive_account_id}:role{IAM_PATH}{destination_role_name(source)}"


def trust_policy(settings: ArchiveAccountSettings, source: Source) -> dict[str, Any]:
    logs_arns = [
        f"arn:{settings.partition}:logs:{settings.region}:{account}:*"
        for account in (source.account_id, settings.archive_account_id)
    ]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{settings.region}.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringLike": {"aws:SourceArn": logs_arns}},
            }
        ],
    }


def permissions_policy(stream_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"], "Resource": stream_arn}
        ],
    }


def ensure_destination_role(
    iam: ArchiveIam, settings: DestinationRoleSettings, source: Source, stream_arn: str
) -> RoleResult:
    name = destination_role_name(source)
    trust = trust_policy(settings, source)
    permissions = permissions_policy(stream_arn)
    changes = []
    role = iam.get_role(name)
    if role is None:
        description = f"CloudWatch Logs delivery for {source}"
        boundary = settings.destination_role_boundary_arn
        arn = iam.create_role(name, IAM_PATH, trust, boundary, description, source_tags(source))
        changes.append(f"created role {name}")
    else:
        arn = role["Arn"]
        if role["AssumeRolePolicyDocument"] != trust:
            iam.update_trust(name, trust)
            changes.append(f"updated the trust policy of {name}")
    if iam.get_inline_policy(name, POLICY_NAME) != permissions:
        iam.put_inline_policy(name, POLICY_NAME, permissions)
        changes.append(f"set policy {POLICY_NAME} on {name}")
    # A role changed just now may not be usable for a minute; Ensure Destination retries on that.
    return RoleResult(resources={"destination_role_arn": arn}, changes=tuple(changes), fresh=bool(changes))


def _trusted_services(trust: dict[str, Any]) -> set[str]:
    services: set[str] = set()
    for statement in trust.get("Statement", []):
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            value = principal.get("Service", [])
            services.update([value] if isinstance(value, str) else value)
    return services


def retire_legacy_role(iam: ArchiveIam, settings: RegionSettings, source: Source) -> tuple[str, ...]:
    """Delete the role an earlier version named without the region, once this region no longer uses it.

    Called after this region's destination delivers with the regional role (Ensure Destination) or is gone
    (Delete Destination). The legacy name was shared by every region that onboarded the same account and cluster
    id, the last one's trust winning: it is this region's only when it is the product's, was created for this
    region and trusts only this region's CloudWatch Logs; otherwise another region still delivers with it and
    retires it the same way."""
    name = legacy_destination_role_name(source)
    role = iam.get_role(name)
    if role is None:
        return ()
    tags = {tag["Key"]: tag["Value"] for tag in role.get("Tags", [])}
    this_region = f"logs.{settings.region}.amazonaws.com"
    ours = role.get("Path") == IAM_PATH and tags.get(MANAGED_TAG) == "true"
    if not ours:
        return ()
    if tags.get(REGION_TAG) != settings.region or _trusted_services(role["AssumeRolePolicyDocument"]) != {this_region}:
        # Created for one region and trusted by another: the shared role this naming fixes. Its creator's region may
        # not delete it (another region delivers with it) and the other may not (the role is not tagged for it).
        logger.warning(
            "legacy destination role kept: another region may deliver with it; delete it once no destination uses it",
            extra={"role": name, "created_for": tags.get(REGION_TAG), "trusted": sorted(_trusted_services(
                role["AssumeRolePolicyDocument"]))},
        )  # fmt: skip
        return ()
    iam.delete_role(name)
    return (f"deleted role {name}, named before role names carried the region",)


def role_drift(iam: ArchiveIam, settings: ArchiveAccountSettings, source: Source) -> list[Drift]:
    """The destination role exists and trusts CloudWatch Logs of this region for the source only."""
    name = destination_role_name(source)
    role = iam.get_role(name)
    if role is None:
        return [Drift(kind="destination-role-missing", resource=name)]
    if role["AssumeRolePolicyDocument"] != trust_policy(settings, source):
        actual = ", ".join(sorted(_trusted_services(role["AssumeRolePolicyDocument"]))) or "no service"
        return [Drift(kind="destination-role-trust", resource=name, expected=f"logs.{settings.region}.amazonaws.com",
                      actual=actual)]  # fmt: skip
    return []
