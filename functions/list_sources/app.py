"""List Sources: the sources to verify (one, when the execution names it; else every onboarded one)."""

from typing import Any

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import Model, Source
from pgaudit_archiver.settings import RegistryStepSettings
from pgaudit_archiver.steps.reconcile import sources_to_verify


class ListSourcesEvent(Model):
    # {"source": {...}} from POST /clusters/.../verify; {} or EventBridge's scheduled event (whose "source" is
    # "aws.events") for a scheduled run of every source.
    execution_input: dict[str, Any]


@workflow_handler(ListSourcesEvent, RegistryStepSettings, correlation_id_path=None)
def lambda_handler(step: ListSourcesEvent, settings: RegistryStepSettings) -> dict[str, Any]:
    requested = step.execution_input.get("source")
    if isinstance(requested, dict):
        return {"sources": [Source.model_validate(requested).model_dump(mode="json")]}
    return {"sources": sources_to_verify(archive_account(settings).registry)}
