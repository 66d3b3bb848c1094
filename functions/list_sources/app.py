"""List Sources: the sources to verify (one, when the execution names it; else every onboarded one)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import ArchiveAccount
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.models import Source
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.reconcile import sources_to_verify


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("List Sources")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    if event.get("source"):
        return {"sources": [Source.model_validate(event["source"]).model_dump(mode="json")]}
    return {"sources": sources_to_verify(ArchiveAccount(settings).registry)}
