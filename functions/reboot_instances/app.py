"""Reboot Instances: reboots the next instance waiting for it (readers first), or reports that all are in sync."""

from pgaudit_archiver.aws.accounts import source_account
from pgaudit_archiver.events import RebootEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import RebootResult
from pgaudit_archiver.settings import SourcePollingStepSettings
from pgaudit_archiver.steps.reboot import advance_reboot


@workflow_handler(RebootEvent, SourcePollingStepSettings)
def lambda_handler(step: RebootEvent, settings: SourcePollingStepSettings) -> RebootResult:
    source = step.request.source
    rds = source_account(settings, source).rds
    return advance_reboot(rds, source, step.expected, step.rebooted, step.polls, settings.max_polls)
