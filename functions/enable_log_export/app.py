"""Enable Log Export: the postgresql log group with its retention, then the cluster's export into it."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import SourceAccount
from pgaudit_archiver.events import StepEvent
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.log_export import enable_log_export


@logger.inject_lambda_context(correlation_id_path="request.cluster_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Enable Log Export")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    step = StepEvent.model_validate(event)
    source = SourceAccount(settings, step.request.source)
    result = enable_log_export(source.rds, source.logs, step.request, step.polls, settings.max_polls)
    return result.model_dump(mode="json")
