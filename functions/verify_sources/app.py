"""Verify Sources: the next sources of one segment of a run, each checked end to end; drift repaired
(AutoRepair) or recorded. The state machine calls it again, with the progress it returned, until the segment
is done."""

import functools
import time
from typing import Any

from pgaudit_archiver.aws.accounts import archive_account, source_account
from pgaudit_archiver.events import SegmentProgress
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import DatabaseFacts, Drift, Model, Source
from pgaudit_archiver.observability import logger
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.settings import VerifySourceSettings
from pgaudit_archiver.steps.canary import send_canary
from pgaudit_archiver.steps.extension import extension_present
from pgaudit_archiver.steps.lifecycle import locate, ready_green, reboot_green
from pgaudit_archiver.steps.offboard import remove_subscription_filter
from pgaudit_archiver.steps.reconcile import Life, Verification, find_drift, reconcile_source, verify_segment
from pgaudit_archiver.steps.role_settings import PgauditOverride, read_overrides

# Well inside the function's timeout (template.yaml: 300 s): the source being checked when it runs out finishes.
SECONDS_PER_INVOCATION = 120


class VerifySourcesEvent(Model):
    progress: SegmentProgress


@workflow_handler(VerifySourcesEvent, VerifySourceSettings, correlation_id_path=None)
def lambda_handler(step: VerifySourcesEvent, settings: VerifySourceSettings) -> SegmentProgress:
    archive = archive_account(settings)
    # A repair is an onboarding; a deleted source's, or a renamed one's old name's, end is an offboarding.
    repairs = ClusterService(archive.registry, archive.stepfunctions, settings.onboard_state_machine_arn,
                             settings.offboard_state_machine_arn, ())  # fmt: skip

    def verify(source: Source) -> Verification:
        account = source_account(settings, source)

        def find(checked: Source, request: dict[str, Any], full: bool) -> list[Drift]:
            return find_drift(
                checked, request, settings, account.rds, account.logs, archive.logs, archive.firehose, archive.iam, full
            )

        @functools.cache  # the canary and a silent source's check share one description of the database
        def database() -> DatabaseFacts | None:
            return account.rds.database(source)

        def canary(request: dict[str, Any]) -> str | None:
            found = database()
            if found is None:
                return "no cluster"
            return send_canary(account.rds_data, account.secrets, archive.registry, source, request, found)

        def cluster_arn(secret_arn: str) -> str:
            partition = secret_arn.split(":")[1]  # the secret is in the cluster's account and region
            return f"arn:{partition}:rds:{source.region}:{source.account_id}:cluster:{source.cluster_id}"

        def extension(database: str, secret_arn: str) -> bool:
            return extension_present(account.rds_data, cluster_arn(secret_arn), secret_arn, database)

        def overrides(database: str, secret_arn: str) -> list[PgauditOverride]:
            return read_overrides(account.rds_data, cluster_arn(secret_arn), secret_arn, database)

        result = reconcile_source(
            source, settings, archive.registry, repairs, find, settings.auto_repair, canary, extension,
            overrides, lambda: (found.status if (found := database()) else None),
            Life(lambda recorded: locate(account.rds, source, recorded),
                 lambda old: remove_subscription_filter(account.logs, settings, old).changes,
                 lambda green, pgaudit_log: ready_green(account.rds, source, green, pgaudit_log),
                 lambda green: reboot_green(account.rds, source, green)),
        )  # fmt: skip
        if result.drift:
            logger.warning("drift found", extra=result.model_dump(mode="json"))
        return result

    deadline = time.monotonic() + SECONDS_PER_INVOCATION
    return verify_segment(step.progress, archive.registry, verify, lambda: time.monotonic() > deadline)
