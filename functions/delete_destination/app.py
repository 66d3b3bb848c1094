"""Delete Destination: the source's CloudWatch Logs destination, and the account's destination role once no source
of the account holds it."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.events import OffboardStepEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import StepResult
from pgaudit_archiver.settings import DeleteDestinationSettings
from pgaudit_archiver.steps.offboard import delete_destination


@workflow_handler(OffboardStepEvent, DeleteDestinationSettings)
def lambda_handler(step: OffboardStepEvent, settings: DeleteDestinationSettings) -> StepResult:
    archive = archive_account(settings)
    return delete_destination(archive.logs, archive.iam, archive.role_holders, settings, step.request.source)
