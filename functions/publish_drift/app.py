"""Publish Drift Count: the DriftedSources metric (its alarm fires when a source stopped delivering)."""

from typing import Any

from pgaudit_archiver.events import DriftCountEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.observability import logger, metrics
from pgaudit_archiver.settings import FunctionSettings


@workflow_handler(DriftCountEvent, FunctionSettings, correlation_id_path=None)
def lambda_handler(step: DriftCountEvent, settings: FunctionSettings) -> dict[str, Any]:
    results = step.results
    drifted = sum(1 for result in results if result.get("status") == "drifted")
    repairing = sum(1 for result in results if result.get("repair_execution_arn"))
    unverified = sum(1 for result in results if result.get("status") == "unverified")
    metrics.add_metric(name="DriftedSources", unit="Count", value=drifted + unverified)
    metrics.add_metric(name="RepairsStarted", unit="Count", value=repairing)
    summary = {"verified": len(results), "drifted": drifted, "repairing": repairing, "unverified": unverified}
    logger.info("reconciliation done", extra=summary)
    return summary
