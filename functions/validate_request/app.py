"""Validate Request and Check Cluster Status: the request is valid and the cluster can be onboarded now."""

from pgaudit_archiver.aws.accounts import source_account
from pgaudit_archiver.events import ValidateEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import ValidationResult
from pgaudit_archiver.settings import ValidateRequestSettings
from pgaudit_archiver.steps.validate import validate


@workflow_handler(ValidateEvent, ValidateRequestSettings)
def lambda_handler(step: ValidateEvent, settings: ValidateRequestSettings) -> ValidationResult:
    return validate(
        step.request,
        step.polls,
        settings,
        lambda source: source_account(settings, source).rds,
        lambda source: source_account(settings, source).logs,
    )
