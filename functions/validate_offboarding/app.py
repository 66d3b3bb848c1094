"""Validate Offboarding: the request is valid; what the registry knows of the cluster's original settings."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.events import ValidateEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.settings import ValidateOffboardingSettings
from pgaudit_archiver.steps.offboard import OffboardPlan, plan_offboarding


@workflow_handler(ValidateEvent, ValidateOffboardingSettings)
def lambda_handler(step: ValidateEvent, settings: ValidateOffboardingSettings) -> OffboardPlan:
    return plan_offboarding(step.request, settings, archive_account(settings).registry)
