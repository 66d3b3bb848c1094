"""Register Execution: the registry records which execution works on the source, and its console link."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import ArchiveAccount
from pgaudit_archiver.events import RegisterEvent
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.register import register_execution


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Register Execution")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    step = RegisterEvent.model_validate(event)
    registry = ArchiveAccount(settings).registry
    return register_execution(registry, step.request, step.operation, step.execution_arn).model_dump(mode="json")
