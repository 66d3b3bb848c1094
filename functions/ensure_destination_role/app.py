"""Ensure Destination Role: the role CloudWatch Logs uses to write the account's events into their streams."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.events import DestinationRoleEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import RoleResult
from pgaudit_archiver.settings import EnsureDestinationRoleSettings
from pgaudit_archiver.steps.destination_role import ensure_destination_role


@workflow_handler(DestinationRoleEvent, EnsureDestinationRoleSettings)
def lambda_handler(step: DestinationRoleEvent, settings: EnsureDestinationRoleSettings) -> RoleResult:
    archive = archive_account(settings)
    return ensure_destination_role(archive.iam, archive.role_holders, settings, step.request.source, step.stream_arn)
