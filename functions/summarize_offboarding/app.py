"""Summarize Offboarding: what was removed; the registry says offboarded."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.events import OffboardSummaryEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.observability import metrics
from pgaudit_archiver.settings import RegistryStepSettings
from pgaudit_archiver.steps.offboard import OffboardingSummary, summarize_offboarding


@workflow_handler(OffboardSummaryEvent, RegistryStepSettings)
def lambda_handler(step: OffboardSummaryEvent, settings: RegistryStepSettings) -> OffboardingSummary:
    steps = [step.subscription_filter, step.restore, step.destination, step.delivery_stream]
    summary = summarize_offboarding(archive_account(settings).registry, step.request, steps)
    metrics.add_metric(name="ClustersOffboarded", unit="Count", value=1)
    return summary
