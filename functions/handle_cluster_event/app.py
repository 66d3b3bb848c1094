"""NewClusterEventFunction: onboards new Aurora PostgreSQL clusters from the source accounts' forwarded events."""

from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import ArchiveAccount, SourceAccount
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.service import cluster_service
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.auto_onboard import decide

EVENT_IDEMPOTENCY_SECONDS = 24 * 3600  # EventBridge may deliver an event more than once


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=EVENT_IDEMPOTENCY_SECONDS)
    config.register_lambda_context(context)

    @idempotent_function(
        data_keyword_argument="cluster_event",
        persistence_store=DynamoDBPersistenceLayer(table_name=settings.idempotency_table),
        config=config,
    )
    def handle(cluster_event: dict[str, Any]) -> dict[str, Any]:
        decision = decide(
            cluster_event,
            settings.auto_onboard,
            settings.region,
            lambda source: SourceAccount(settings, source).rds,
            ArchiveAccount(settings).registry,
            cluster_service(settings),
        )
        logger.info("cluster event handled", extra=decision.model_dump(mode="json"))
        metrics.add_metric(name=f"ClusterEvents{decision.action.title().replace('-', '')}", unit="Count", value=1)
        return decision.model_dump(mode="json")

    return handle(cluster_event=event)
