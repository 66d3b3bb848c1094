"""Plan Run: the segments of a reconciliation run (or the one source the execution names) and how many sources
it must check."""

from typing import Any

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import Model, Source
from pgaudit_archiver.settings import ReconcilePlanSettings
from pgaudit_archiver.steps.reconcile import plan_run


class PlanRunEvent(Model):
    # {"source": {...}} from POST /clusters/.../verify; {} or EventBridge's scheduled event (whose "source" is
    # "aws.events") for a scheduled run of every source.
    execution_input: dict[str, Any]


@workflow_handler(PlanRunEvent, ReconcilePlanSettings, correlation_id_path=None)
def lambda_handler(step: PlanRunEvent, settings: ReconcilePlanSettings) -> dict[str, Any]:
    requested = step.execution_input.get("source")
    source = Source.model_validate(requested) if isinstance(requested, dict) else None
    return plan_run(archive_account(settings).registry, settings.reconcile_segments, source)
