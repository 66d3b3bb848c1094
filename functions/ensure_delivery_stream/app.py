"""Ensure Delivery Stream and Check Delivery Stream: the source's Firehose stream, as configured and active."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.events import StepEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import StepResult
from pgaudit_archiver.settings import EnsureDeliveryStreamSettings
from pgaudit_archiver.steps.delivery_stream import ensure_delivery_stream


@workflow_handler(StepEvent, EnsureDeliveryStreamSettings)
def lambda_handler(step: StepEvent, settings: EnsureDeliveryStreamSettings) -> StepResult:
    return ensure_delivery_stream(archive_account(settings).firehose, settings, step.request.source, step.polls)
