"""Summarize Offboarding: what was removed; the registry says offboarded."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import ArchiveAccount
from pgaudit_archiver.events import OffboardSummaryEvent
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.offboard import summarize_offboarding


@logger.inject_lambda_context(correlation_id_path="request.cluster_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Summarize Offboarding")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    step = OffboardSummaryEvent.model_validate(event)
    steps = [step.subscription_filter, step.restore, step.destination, step.delivery_stream]
    summary = summarize_offboarding(ArchiveAccount(settings).registry, step.request, steps)
    metrics.add_metric(name="ClustersOffboarded", unit="Count", value=1)
    return summary.model_dump(mode="json")
