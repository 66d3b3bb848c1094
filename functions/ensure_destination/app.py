"""Ensure Destination: the CloudWatch Logs destination for the source and its access policy."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.events import DestinationEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import StepResult
from pgaudit_archiver.settings import EnsureDestinationSettings
from pgaudit_archiver.steps.destination import ensure_destination


@workflow_handler(DestinationEvent, EnsureDestinationSettings)
def lambda_handler(step: DestinationEvent, settings: EnsureDestinationSettings) -> StepResult:
    logs = archive_account(settings).logs
    return ensure_destination(logs, settings, step.request.source, step.stream_arn, step.role_arn, step.role_fresh)
