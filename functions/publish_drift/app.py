"""Publish Drift Count: the DriftedSources metric (its alarm fires when a source stopped delivering)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.events import DriftCountEvent
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Publish Drift Count")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    results = DriftCountEvent.model_validate(event).results
    drifted = sum(1 for result in results if result.get("status") == "drifted")
    repairing = sum(1 for result in results if result.get("repair_execution_arn"))
    unverified = sum(1 for result in results if result.get("status") == "unverified")
    metrics.add_metric(name="DriftedSources", unit="Count", value=drifted + unverified)
    metrics.add_metric(name="RepairsStarted", unit="Count", value=repairing)
    summary = {"verified": len(results), "drifted": drifted, "repairing": repairing, "unverified": unverified}
    logger.info("reconciliation done", extra=summary)
    return summary
