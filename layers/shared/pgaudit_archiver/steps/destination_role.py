"""Ensure Destination Role: the role CloudWatch Logs assumes to put the events of the account's sources in this
region into their streams. One per source account and region, scoped to that account's destinations and streams."""

from __future__ import annotations

from typing import Any

from pgaudit_archiver.aws.iam import ArchiveIam
from pgaudit_archiver.aws.logs import ArchiveLogs
from pgaudit_archiver.aws.registry import source_key
from pgaudit_archiver.aws.role_holders import RoleHolders
from pgaudit_archiver.errors import RoleNotReadyError
from pgaudit_archiver.models import Drift, RoleResult, Source
from pgaudit_archiver.naming import (
    IAM_PATH,
    account_resource_prefix,
    account_tags,
    destination_role_name,
    legacy_destination_role_name,
    source_destination_role_name,
)
from pgaudit_archiver.observability import logger
from pgaudit_archiver.settings import ArchiveAccountSettings, DestinationRoleSettings, RegionSettings

POLICY_NAME = "put-records-to-source-stream"
MANAGED_TAG, REGION_TAG = "pgaudit-archiver:managed", "pgaudit-archiver:source-region"
ACCOUNT_TAG, CLUSTER_TAG = "pgaudit-archiver:source-account", "pgaudit-archiver:source-cluster"


def destination_role_arn(settings: ArchiveAccountSettings, source: Source) -> str:
    return f"arn:{settings.partition}:iam::{settings.archive_account_id}:role{IAM_PATH}{destination_role_name(source)}"


def trust_policy(settings: ArchiveAccountSettings, source: Source) -> dict[str, Any]:
    """CloudWatch Logs of this region, for the source account's log groups and the archive's destinations of that
    account only. CloudWatch Logs "sends a test message to the destination on the recipient account's behalf" at
    PutDestination and "sends log events ... on the source account's behalf" once the filter is active (CloudWatch
    Logs user guide, cross-account Firehose destination): AWS's example trusts both accounts' `logs:<region>:<id>:*`;
    the archive's half is narrowed here to the account's destinations, so one account's deliveries cannot borrow
    another account's role."""
    archive_destinations = (
        f"arn:{settings.partition}:logs:{settings.region}:{settings.archive_account_id}:destination:"
        f"{account_resource_prefix(source)}*"
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{settings.region}.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringLike": {
                        "aws:SourceArn": [
                            f"arn:{settings.partition}:logs:{settings.region}:{source.account_id}:*",
                            archive_destinations,
                        ]
                    }
                },
            }
        ],
    }


def account_streams_arn(stream_arn: str, source: Source) -> str:
    """The ARN pattern of the account's streams in the stream's region and account."""
    return f"{stream_arn.rsplit('/', 1)[0]}/{account_resource_prefix(source)}*"


def permissions_policy(streams_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"], "Resource": streams_arn}
        ],
    }


def ensure_destination_role(
    iam: ArchiveIam, holders: RoleHolders, settings: DestinationRoleSettings, source: Source, stream_arn: str
) -> RoleResult:
    """The account's role, with the source counted among its holders first: an offboarding of the account's last
    other source then keeps the role (aws/role_holders.py)."""
    if not holders.join(source.account_id, settings.region, source_key(source)):
        raise RoleNotReadyError(
            f"destination role {destination_role_name(source)} is being deleted by the offboarding of account "
            f"{source.account_id}'s last source in {settings.region}",
            remedy="none; the workflow retries, and creates the role again once it is gone",
        )
    name = destination_role_name(source)
    trust = trust_policy(settings, source)
    permissions = permissions_policy(account_streams_arn(stream_arn, source))
    changes = []
    role = iam.get_role(name)
    if role is None:
        description = f"CloudWatch Logs delivery for account {source.account_id} in {source.region}"
        boundary = settings.destination_role_boundary_arn
        arn = iam.create_role(name, IAM_PATH, trust, boundary, description, account_tags(source))
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


def retire_source_role(iam: ArchiveIam, settings: RegionSettings, source: Source) -> tuple[str, ...]:
    """Delete the role earlier versions created for this source alone, once its destination delivers with the
    account's role (Ensure Destination) or is gone (Delete Destination): only the product's role, created for this
    source in this region, trusting this region's CloudWatch Logs only."""
    name = source_destination_role_name(source)
    role = iam.get_role(name)
    if role is None:
        return ()
    tags = {tag["Key"]: tag["Value"] for tag in role.get("Tags", [])}
    this_source = {MANAGED_TAG: "true", REGION_TAG: settings.region, ACCOUNT_TAG: source.account_id,
                   CLUSTER_TAG: source.cluster_id}  # fmt: skip
    trusted = _trusted_services(role["AssumeRolePolicyDocument"])
    if role.get("Path") != IAM_PATH or any(tags.get(k) != v for k, v in this_source.items()) or trusted != {
            f"logs.{settings.region}.amazonaws.com"}:  # fmt: skip
        logger.warning("per-source destination role kept: not this source's alone",
                       extra={"role": name, "tags": tags, "trusted": sorted(trusted)})  # fmt: skip
        return ()
    iam.delete_role(name)
    return (f"deleted role {name}, the source's own before roles were shared by the account",)


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
    """The account's destination role exists and trusts CloudWatch Logs of this region for the account only."""
    name = destination_role_name(source)
    role = iam.get_role(name)
    if role is None:
        return [Drift(kind="destination-role-missing", resource=name)]
    if role["AssumeRolePolicyDocument"] != trust_policy(settings, source):
        actual = ", ".join(sorted(_trusted_services(role["AssumeRolePolicyDocument"]))) or "no service"
        return [Drift(kind="destination-role-trust", resource=name, expected=f"logs.{settings.region}.amazonaws.com",
                      actual=actual)]  # fmt: skip
    return []


def release_destination_role(
    iam: ArchiveIam, holders: RoleHolders, logs: ArchiveLogs, settings: ArchiveAccountSettings, source: Source
) -> tuple[str, ...]:
    """After the source's destination is gone: delete the account's role when no source holds it any more.

    Race-free with onboardings of the same account: an onboarding joins the holders before it makes sure the role
    exists, and cannot join while this offboarding holds the retirement mark (aws/role_holders.py). A destination of
    the account that still names the role (one made outside the holders' count) keeps it too."""
    account, region, me = source.account_id, settings.region, source_key(source)
    name = destination_role_name(source)
    if not holders.leave(account, region, me):
        return ()
    arn = destination_role_arn(settings, source)
    users = [d["destinationName"] for d in logs.destinations_with_prefix(account_resource_prefix(source))
             if d.get("roleArn") == arn]  # fmt: skip
    deleted = False if users else iam.delete_role(name)
    holders.retired(account, region, me)
    if users:
        return (f"kept role {name}: destination {users[0]} still delivers with it",)
    if not deleted:
        return ()
    return (f"deleted role {name}, the last source of account {account} in {region} being offboarded",)
