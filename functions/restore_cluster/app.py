"""Restore Cluster: the postgresql export disabled and the original parameter group attached again."""

from pgaudit_archiver.aws.accounts import source_account
from pgaudit_archiver.events import RestoreEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import StepResult
from pgaudit_archiver.settings import SourcePollingStepSettings
from pgaudit_archiver.steps.offboard import restore_cluster


@workflow_handler(RestoreEvent, SourcePollingStepSettings)
def lambda_handler(step: RestoreEvent, settings: SourcePollingStepSettings) -> StepResult:
    source = step.request.source
    rds = source_account(settings, source).rds
    return restore_cluster(rds, source, step.original_parameter_group, step.changes, step.polls, settings.max_polls)
