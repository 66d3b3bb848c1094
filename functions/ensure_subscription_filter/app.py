"""Ensure Subscription Filter: the source log group sends pgaudit lines to the archive's destination."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import SourceAccount
from pgaudit_archiver.events import SubscriptionFilterEvent
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.subscription_filter import ensure_subscription_filter


@logger.inject_lambda_context(correlation_id_path="request.cluster_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Ensure Subscription Filter")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    step = SubscriptionFilterEvent.model_validate(event)
    source = SourceAccount(settings, step.request.source)
    return ensure_subscription_filter(source.logs, step.request, step.destination_arn).model_dump(mode="json")
