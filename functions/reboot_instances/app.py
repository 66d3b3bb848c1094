"""Reboot Instances: reboots the next instance waiting for it (readers first), or reports that all are in sync."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import SourceAccount
from pgaudit_archiver.events import RebootEvent
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.reboot import advance_reboot


@logger.inject_lambda_context(correlation_id_path="request.cluster_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Reboot Instances")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    step = RebootEvent.model_validate(event)
    source = SourceAccount(settings, step.request.source)
    result = advance_reboot(
        source.rds, step.request.source, step.expected, step.rebooted, step.polls, settings.max_polls
    )
    return result.model_dump(mode="json")
