"""Register Execution: the registry records which execution works on the source, and its console link."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.events import RegisterEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.settings import RegistryStepSettings
from pgaudit_archiver.steps.register import Registration, register_execution


@workflow_handler(RegisterEvent, RegistryStepSettings)
def lambda_handler(step: RegisterEvent, settings: RegistryStepSettings) -> Registration:
    registry = archive_account(settings).registry
    return register_execution(registry, step.request, step.operation, step.execution_arn)
