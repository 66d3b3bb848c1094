"""Scheduled Discovery (DiscoverySchedule): an adoption of each known account, for the clusters its events missed."""

from typing import Any

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.handlers import function_handler
from pgaudit_archiver.observability import logger
from pgaudit_archiver.settings import ScheduledDiscoverySettings
from pgaudit_archiver.steps.discovery import known_accounts, start_adoptions


@function_handler(ScheduledDiscoverySettings)
def lambda_handler(event: dict[str, Any], context: Any, settings: ScheduledDiscoverySettings) -> dict[str, Any]:
    archive = archive_account(settings)
    accounts = known_accounts(settings.allowed_account_ids, archive.registry)
    result = start_adoptions(accounts, settings.region, archive.stepfunctions, settings.adopt_state_machine_arn)
    logger.info("scheduled discovery", extra=result)
    return result
