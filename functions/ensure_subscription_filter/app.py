"""Ensure Subscription Filter: the source log group sends pgaudit lines to the archive's destination."""

from pgaudit_archiver.aws.accounts import source_account
from pgaudit_archiver.events import SubscriptionFilterEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import StepResult
from pgaudit_archiver.settings import SourceStepSettings
from pgaudit_archiver.steps.subscription_filter import ensure_subscription_filter


@workflow_handler(SubscriptionFilterEvent, SourceStepSettings)
def lambda_handler(step: SubscriptionFilterEvent, settings: SourceStepSettings) -> StepResult:
    logs = source_account(settings, step.request.source).logs
    return ensure_subscription_filter(logs, step.request, step.destination_arn)
