"""Delete Delivery Stream: the source's Firehose stream, once it has flushed; archived objects stay."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.events import OffboardStepEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import StepResult
from pgaudit_archiver.settings import DeleteDeliveryStreamSettings
from pgaudit_archiver.steps.offboard import delete_delivery_stream


@workflow_handler(OffboardStepEvent, DeleteDeliveryStreamSettings)
def lambda_handler(step: OffboardStepEvent, settings: DeleteDeliveryStreamSettings) -> StepResult:
    return delete_delivery_stream(archive_account(settings).firehose, step.request.source)
