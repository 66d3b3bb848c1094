"""Ensure Destination: the CloudWatch Logs destination for the source and its access policy."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import ArchiveAccount
from pgaudit_archiver.events import DestinationEvent
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.destination import ensure_destination


@logger.inject_lambda_context(correlation_id_path="request.cluster_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Ensure Destination")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    step = DestinationEvent.model_validate(event)
    result = ensure_destination(
        ArchiveAccount(settings).logs, settings, step.request.source, step.stream_arn, step.role_arn, step.role_fresh
    )
    return result.model_dump(mode="json")
