"""Create Extension: CREATE EXTENSION pgaudit through the Data API, or the SQL for the user to run."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import SourceAccount
from pgaudit_archiver.events import ExtensionEvent
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.extension import ensure_extension


@logger.inject_lambda_context(correlation_id_path="request.cluster_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Create Extension")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    step = ExtensionEvent.model_validate(event)
    source = SourceAccount(settings, step.request.source)
    result = ensure_extension(source.rds_data, step.request, step.cluster, step.pending_reboot)
    return result.model_dump(mode="json")
