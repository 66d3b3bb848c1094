"""Ensure Destination Role: the role CloudWatch Logs assumes to put the source's events into its stream."""

from __future__ import annotations

from typing import Any

from pgaudit_archiver.aws.iam import ArchiveIam
from pgaudit_archiver.models import RoleResult, Source
from pgaudit_archiver.naming import IAM_PATH, destination_role_name, source_tags
from pgaudit_archiver.settings import ArchiveAccountSettings, DestinationRoleSettings

POLICY_NAME = "put-records-to-source-stream"


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
