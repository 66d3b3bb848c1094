"""Summarize Onboarding: the resources, the changes, what is pending and what the user must still do."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import ArchiveAccount
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.summary import OnboardingState, record_summary, summarize


@logger.inject_lambda_context(correlation_id_path="request.cluster_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Summarize Onboarding")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    state = OnboardingState.model_validate(event)
    summary = summarize(state)
    record_summary(ArchiveAccount(settings).registry, state, summary)
    metrics.add_metric(name="ClustersOnboarded", unit="Count", value=1)
    return summary.model_dump(mode="json")
