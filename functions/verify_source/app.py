"""Verify Source: one source's pipeline checked end to end; drift repaired (AutoRepair) or recorded."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import ArchiveAccount, SourceAccount
from pgaudit_archiver.events import SourceEvent
from pgaudit_archiver.handlers import workflow_step
from pgaudit_archiver.models import Source
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.service import cluster_service
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.canary import send_canary
from pgaudit_archiver.steps.reconcile import find_drift, reconcile_source


@logger.inject_lambda_context(correlation_id_path="source.cluster_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@workflow_step("Verify Source")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    source = SourceEvent.model_validate(event).source
    archive, account = ArchiveAccount(settings), SourceAccount(settings, source)

    def find(checked: Source, request: dict[str, Any]) -> list[str]:
        return find_drift(checked, request, settings, account.rds, account.logs, archive.logs, archive.firehose)

    def canary(request: dict[str, Any]) -> str | None:
        cluster = account.rds.describe_cluster(source.cluster_id) or {}
        return send_canary(account.rds_data, archive.registry, source, request, cluster) if cluster else "no cluster"

    service = cluster_service(settings)
    result = reconcile_source(source, settings, archive.registry, service, find, settings.auto_repair, canary)
    if result.drift:
        logger.warning("drift found", extra=result.model_dump(mode="json"))
    return result.model_dump(mode="json")
