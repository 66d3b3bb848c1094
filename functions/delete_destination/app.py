"""Delete Destination: the source's CloudWatch Logs destination and its role."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.events import OffboardStepEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import StepResult
from pgaudit_archiver.settings import ArchiveStepSettings
from pgaudit_archiver.steps.offboard import delete_destination


@workflow_handler(OffboardStepEvent, ArchiveStepSettings)
def lambda_handler(step: OffboardStepEvent, settings: ArchiveStepSettings) -> StepResult:
    archive = archive_account(settings)
    return delete_destination(archive.logs, archive.iam, settings, step.request.source)
