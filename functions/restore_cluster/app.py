"""Restore Cluster: the postgresql export disabled and the original parameter group attached again."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import SourceAccount
from pgaudit_archiver.events import RestoreEvent
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.offboard import restore_cluster


@logger.inject_lambda_context(correlation_id_path="request.cluster_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Restore Cluster")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    step = RestoreEvent.model_validate(event)
    source = step.request.source
    result = restore_cluster(
        SourceAccount(settings, source).rds, source, step.original_parameter_group, step.changes, step.polls,
        settings.max_polls,
    )  # fmt: skip
    return result.model_dump(mode="json")
