"""Enable Log Export and Check Log Export: the postgresql log group with its retention, then the cluster's export
into it."""

from pgaudit_archiver.aws.accounts import source_account
from pgaudit_archiver.events import StepEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import StepResult
from pgaudit_archiver.settings import SourcePollingStepSettings
from pgaudit_archiver.steps.log_export import enable_log_export


@workflow_handler(StepEvent, SourcePollingStepSettings)
def lambda_handler(step: StepEvent, settings: SourcePollingStepSettings) -> StepResult:
    source = source_account(settings, step.request.source)
    return enable_log_export(source.rds, source.logs, step.request, step.polls, settings.max_polls)
