"""Ensure Delivery Stream and Check Delivery Stream: the source's Firehose stream, as configured and active."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.events import StepEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import StepResult
from pgaudit_archiver.naming import destination_role_name
from pgaudit_archiver.settings import EnsureDeliveryStreamSettings
from pgaudit_archiver.steps.delivery_stream import ensure_delivery_stream
from pgaudit_archiver.steps.quotas import check_quotas


@workflow_handler(StepEvent, EnsureDeliveryStreamSettings)
def lambda_handler(step: StepEvent, settings: EnsureDeliveryStreamSettings) -> StepResult:
    archive = archive_account(settings)
    return ensure_delivery_stream(
        archive.firehose,
        settings,
        step.request.source,
        step.polls,
        lambda: check_quotas(
            archive.iam, archive.firehose, settings.firehose_streams_quota, destination_role_name(step.request.source)
        ),
    )
