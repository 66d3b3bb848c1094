"""Ensure Destination: the CloudWatch Logs destination in front of the stream, open to the source account only."""

from __future__ import annotations

import json
from typing import Any

from pgaudit_archiver.aws.logs import ArchiveLogs
from pgaudit_archiver.errors import AwsRequestError, RoleNotReadyError
from pgaudit_archiver.models import Source, StepResult
from pgaudit_archiver.naming import destination_name, source_tags
from pgaudit_archiver.settings import ArchiveAccountSettings

# PutDestination sends a test message through the role; a role IAM has not propagated yet fails it with these.
ROLE_NOT_READY_CODES = frozenset({"InvalidParameterException", "AccessDeniedException"})


def destination_arn(settings: ArchiveAccountSettings, name: str) -> str:
    return f"arn:{settings.partition}:logs:{settings.region}:{settings.archive_account_id}:destination:{name}"


def access_policy(settings: ArchiveAccountSettings, source: Source, name: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowSourceAccountToSubscribe",
                "Effect": "Allow",
                "Principal": {"AWS": source.account_id},
                "Action": "logs:PutSubscriptionFilter",
                "Resource": destination_arn(settings, name),
            }
        ],
    }


def ensure_destination(
    logs: ArchiveLogs,
    settings: ArchiveAccountSettings,
    source: Source,
    stream_arn: str,
    role_arn: str,
    role_changed: bool,
) -> StepResult:
    name = destination_name(source)
    changes = []
    current = logs.describe_destination(name)
    if current is None or current.get("targetArn") != stream_arn or current.get("roleArn") != role_arn:
        try:
            logs.put_destination(name, stream_arn, role_arn, source_tags(source) if current is None else None)
        except AwsRequestError as error:
            if role_changed and error.aws_error_code in ROLE_NOT_READY_CODES:
                raise RoleNotReadyError(
                    f"destination role {role_arn} is not usable yet: {error.message}",
                    aws_error_code=error.aws_error_code,
                    remedy="none; the workflow retries while IAM propagates the role",
                ) from error
            raise
        changes.append(f"{'created' if current is None else 'updated'} destination {name}")
        current = None
    policy = access_policy(settings, source, name)
    existing_policy = json.loads(current["accessPolicy"]) if current and current.get("accessPolicy") else None
    if existing_policy != policy:
        logs.put_destination_policy(name, policy)
        changes.append(f"set the access policy of {name} for account {source.account_id}")
    return StepResult(resources={"destination_arn": destination_arn(settings, name)}, changes=tuple(changes))
