"""Remove Subscription Filter: our filter leaves the log group; every other filter stays."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import SourceAccount
from pgaudit_archiver.events import OffboardStepEvent
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.offboard import remove_subscription_filter


@logger.inject_lambda_context(correlation_id_path="request.cluster_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Remove Subscription Filter")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    source = OffboardStepEvent.model_validate(event).request.source
    return remove_subscription_filter(SourceAccount(settings, source).logs, settings, source).model_dump(mode="json")
