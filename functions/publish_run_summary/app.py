"""Publish Run Summary: the run's coverage (sources checked of those registered) and drift, as metrics whose alarms
fire when a source stopped delivering, a run did not check every source, or no run completed."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from pgaudit_archiver.events import DriftCountEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.observability import logger, metrics
from pgaudit_archiver.settings import FunctionSettings
from pgaudit_archiver.steps.reconcile import coverage


@workflow_handler(DriftCountEvent, FunctionSettings, correlation_id_path=None)
def lambda_handler(step: DriftCountEvent, settings: FunctionSettings) -> dict[str, Any]:
    summary = coverage(step.registered, step.segments)
    metrics.add_metric(name="DriftedSources", unit="Count", value=summary["drifted"] + summary["unverified"])
    metrics.add_metric(name="RepairsStarted", unit="Count", value=summary["repairing"])
    metrics.add_metric(name="SourcesRegistered", unit="Count", value=summary["registered"])
    metrics.add_metric(name="SourcesChecked", unit="Count", value=summary["checked"])
    metrics.add_metric(name="ReconciliationCoverage", unit="Percent", value=summary["coverage"])
    metrics.add_metric(name="SilentSources", unit="Count", value=summary["silent"])
    metrics.add_metric(name="CanariesLate", unit="Count", value=summary["canaries_late"])
    longest = summary["longest_without_delivery_minutes"]
    metrics.add_metric(name="LongestWithoutDeliveryMinutes", unit="Count", value=longest)
    if not any(segment.source for segment in step.segments):
        # Only a run over the whole registry: a one-source verify (POST .../verify) must not hide a missed schedule.
        metrics.add_metric(name="FleetReconciliationsCompleted", unit="Count", value=1)
    for status, count in sorted(step.by_status.items()):
        with single_metric(name="Sources", unit=MetricUnit.Count, value=count, namespace=metrics.namespace) as metric:
            metric.add_dimension(name="service", value=str(metrics.service))
            metric.add_dimension(name="status", value=status)
    logger.info("reconciliation done", extra={**summary, "by_status": step.by_status})
    return summary
