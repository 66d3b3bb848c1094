"""NewClusterEventFunction: the source accounts' forwarded database events. A new database (created or restored) or a
tag change may start its onboarding; a deletion marks the onboarded source deleted once RDS confirms it."""

from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import archive_account, source_account
from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.handlers import function_handler
from pgaudit_archiver.models import Source
from pgaudit_archiver.observability import logger, metrics
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.settings import HandleClusterEventSettings
from pgaudit_archiver.steps.auto_onboard import decide
from pgaudit_archiver.steps.deletion import deleted_source, record_deletion

EVENT_IDEMPOTENCY_SECONDS = 24 * 3600  # EventBridge may deliver an event more than once


@function_handler(HandleClusterEventSettings, correlation_id_path="id")
def lambda_handler(event: dict[str, Any], context: LambdaContext, settings: HandleClusterEventSettings) -> Any:
    archive = archive_account(settings)
    config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=EVENT_IDEMPOTENCY_SECONDS)
    config.register_lambda_context(context)
    # Onboarding is all this function starts; it authorizes no caller.
    onboarding = ClusterService(archive.registry, archive.stepfunctions, settings.onboard_state_machine_arn, "", ())

    @idempotent_function(
        data_keyword_argument="cluster_event", persistence_store=archive.idempotency_store, config=config
    )
    def handle(cluster_event: dict[str, Any]) -> dict[str, Any]:
        def rds_for(source: Source) -> SourceRds:
            return source_account(settings, source).rds

        if deleted_source(cluster_event) is not None:  # whatever AutoOnboard says: no onboarding is started
            decision = record_deletion(cluster_event, settings.region, rds_for, archive.registry)
        else:
            decision = decide(
                cluster_event, settings.auto_onboard, settings.region, rds_for, archive.registry, onboarding
            )
        logger.info("cluster event handled", extra=decision.model_dump(mode="json"))
        metrics.add_metric(name=f"ClusterEvents{decision.action.title().replace('-', '')}", unit="Count", value=1)
        return decision.model_dump(mode="json")

    return handle(cluster_event=event)
