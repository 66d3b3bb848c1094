"""Verify Source: one source's pipeline checked end to end; drift repaired (AutoRepair) or recorded."""

from typing import Any

from pgaudit_archiver.aws.accounts import archive_account, source_account
from pgaudit_archiver.events import SourceEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import Drift, Source
from pgaudit_archiver.observability import logger
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.settings import VerifySourceSettings
from pgaudit_archiver.steps.canary import send_canary
from pgaudit_archiver.steps.reconcile import Verification, find_drift, reconcile_source


@workflow_handler(SourceEvent, VerifySourceSettings, correlation_id_path="source.cluster_id")
def lambda_handler(step: SourceEvent, settings: VerifySourceSettings) -> Verification:
    source = step.source
    archive, account = archive_account(settings), source_account(settings, source)

    def find(checked: Source, request: dict[str, Any]) -> list[Drift]:
        return find_drift(
            checked, request, settings, account.rds, account.logs, archive.logs, archive.firehose, archive.iam
        )

    def canary(request: dict[str, Any]) -> str | None:
        cluster = account.rds.describe_cluster(source.cluster_id) or {}
        return send_canary(account.rds_data, archive.registry, source, request, cluster) if cluster else "no cluster"

    # A repair is an onboarding; this function starts no other workflow and authorizes no caller.
    repairs = ClusterService(archive.registry, archive.stepfunctions, settings.onboard_state_machine_arn, "", ())
    result = reconcile_source(source, settings, archive.registry, repairs, find, settings.auto_repair, canary)
    if result.drift:
        logger.warning("drift found", extra=result.model_dump(mode="json"))
    return result
