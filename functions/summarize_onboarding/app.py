"""Summarize Onboarding: the resources, the changes, what is pending and what the user must still do."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import OnboardingSummary
from pgaudit_archiver.observability import metrics
from pgaudit_archiver.settings import RegistryStepSettings
from pgaudit_archiver.steps.summary import (
    OnboardingState,
    record_summary,
    renamed_with_its_secret_untagged,
    summarize,
)


@workflow_handler(OnboardingState, RegistryStepSettings)
def lambda_handler(state: OnboardingState, settings: RegistryStepSettings) -> OnboardingSummary:
    registry = archive_account(settings).registry
    summary = summarize(state, renamed_with_its_secret_untagged(registry, state))
    record_summary(registry, state, summary)
    metrics.add_metric(name="ClustersOnboarded", unit="Count", value=1)
    return summary
