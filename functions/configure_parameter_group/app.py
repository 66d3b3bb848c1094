"""Configure Parameter Group: pgaudit preloaded and pgaudit.log set, in a parameter group of the cluster's own."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import SourceAccount
from pgaudit_archiver.events import ParameterGroupEvent
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.parameter_group import configure_parameter_group


@logger.inject_lambda_context(correlation_id_path="request.cluster_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Configure Parameter Group")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    step = ParameterGroupEvent.model_validate(event)
    source = SourceAccount(settings, step.request.source)
    return configure_parameter_group(source.rds, step.request, step.cluster).model_dump(mode="json")
