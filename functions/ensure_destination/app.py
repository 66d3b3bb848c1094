"""Ensure Destination: the CloudWatch Logs destination for the source and its access policy; then the roles earlier
versions made for this source alone (with and without the region in the name) are retired, since the destination
now delivers with the account's role."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.events import DestinationEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import StepResult
from pgaudit_archiver.settings import EnsureDestinationSettings
from pgaudit_archiver.steps.destination import ensure_destination
from pgaudit_archiver.steps.destination_role import retire_legacy_role, retire_source_role


@workflow_handler(DestinationEvent, EnsureDestinationSettings)
def lambda_handler(step: DestinationEvent, settings: EnsureDestinationSettings) -> StepResult:
    archive, source = archive_account(settings), step.request.source
    result = ensure_destination(archive.logs, settings, source, step.stream_arn, step.role_arn, step.role_fresh)
    retired = (*retire_source_role(archive.iam, settings, source), *retire_legacy_role(archive.iam, settings, source))
    return result.model_copy(update={"changes": (*result.changes, *retired)})
